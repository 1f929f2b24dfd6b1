"""How a fold reaches DynamoDB, room by room (the handler is `aggregator.py`):

- `guards.py`    the attribute names a fold keeps on the items it writes (its
                 per-shard applied sequence, change stamp, receipt time);
- `writing.py`   counter items applied exactly once without transactions, each
                 update idempotent on its own applied sequence;
- `marks.py`     what else a fold writes, once and only when needed: sketch
                 deltas, the rollup's work-list marks, the campaign directory;
- `parking.py`   records whose request has not committed yet, set aside so they
                 never hold the rest of the shard.
"""
