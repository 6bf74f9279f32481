"""Reading and parsing client exports."""
