"""Live updates pushed to the page (docs/design.md, "Freshness").

A page opens a WebSocket (API Gateway WebSocket API; local mode's server in
infra/local/live_socket.py), proves who it is with the same keys and tokens as
the REST API, and subscribes to the campaigns it shows. After a fold commits,
the aggregator announces each campaign it stamped to the connections
subscribed to it: the new stamp and the minutes touched, never the report. The
page then fetches the report, which is computed once per state and served to
every viewer from a cache (report_cache.py).

- connections.py: connection and subscription records (one table partition each, TTL'd)
- sockets.py: the $connect / message / $disconnect handlers' logic
- notifier.py: what the aggregator calls after a fold (best effort, short deadline)
- sender.py: posting to connections (API Gateway's management API, or local mode's)
- report_cache.py: one live report computation per (view, stamp), shared by viewers
"""
