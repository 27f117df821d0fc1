"""SQL storage: typed models, engine setup and the one upsert path."""
