"""HTTP routes by concern, each a Chalice Blueprint built from explicit dependencies (app.py registers them)."""
