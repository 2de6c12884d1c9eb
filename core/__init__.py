"""What every part of tradebook shares, with no models of its own: exact amounts and times,
exact JSON in and out, the one error type, the one progress bar, the model field for
amounts and the fast SQL helpers (the only place that branches per database)."""
