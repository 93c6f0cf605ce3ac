"""Full-size screens pushed over the main one (the stats screen)."""
