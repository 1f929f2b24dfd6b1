"""Consent of email recipients (issue 19): nobody outside a workspace receives
its snapshots or alerts before confirming, anyone can leave with one click,
and a daily quota bounds what a workspace sends (docs/snapshots.md, "Consent")."""
