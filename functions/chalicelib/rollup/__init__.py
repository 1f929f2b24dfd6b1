"""Roll-ups, off the write path: minutes -> hours -> days, per counter partition.

Folds write minute items and mark the rollup's work lists (`worklist.py`). Every
minute the schedule either rolls every partition that moved itself (`Rollup.run`), or
plans them and sends one message per partition to a queue whose worker rolls each
(`fanout.py`), so the work grows across invocations instead of inside one minute.

- `closed.py`: closed hours and days, recomputed from their finer items;
- `open_hour.py`: the open hour's roll-up to a frontier and its minutes' compaction,
  skipped where nothing moved;
- `worklist.py`: the work-list entries (versions, marks) and the lease;
- `parts.py`: reading finer items and writing coarser ones, what the steps share;
- `runner.py`: planning, rolling one partition, the synchronous pass.
"""
from .open_hour import COMPACT_GRACE, OPEN_LAG, OPEN_STEP
from .parts import RollupStats
from .runner import LOOKBACK_HOURS, Rollup, Task
from .worklist import LEASE_PK, LEASE_SK

__all__ = ["COMPACT_GRACE", "LEASE_PK", "LEASE_SK", "LOOKBACK_HOURS", "OPEN_LAG", "OPEN_STEP", "Rollup",
           "RollupStats", "Task"]
