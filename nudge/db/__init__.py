"""The shared database: engines, transactions, schema upgrades and shared stores."""
