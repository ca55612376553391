"""Tests for podium.store: the SQL stores and the local artifact store, on real databases and files."""
