"""Local mode: the whole product on one machine, against a moto server."""
