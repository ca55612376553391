"""Tests for podium.services: validation, source rules and cross-store links over real SQL stores."""
