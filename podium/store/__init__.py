"""Storage: the contracts (``base``), the SQL implementation (``sql``) and artifact stores."""
