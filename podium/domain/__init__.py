"""Podium's domain: entities, validation rules, the search grammar and page tokens.

Standard library only; no store or framework is imported here.
"""
