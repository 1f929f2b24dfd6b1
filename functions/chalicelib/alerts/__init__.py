"""Alerts on deliverability and send progress (issue 13): rules, evaluation, notifications.

rules.py validates what clients ask for; store.py keeps rules, states and
history; evaluate.py is the pure evaluation on minute counters; runner.py is
the scheduled evaluator; notify.py and webhook.py say it by email and webhook.
See docs/alerts.md.
"""
