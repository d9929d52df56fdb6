"""The tiny shop."""
