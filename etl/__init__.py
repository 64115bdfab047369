"""TTHC warehouse: extract the provincial one-stop system's exports, validate, load, measure."""
