"""Core value types and pure helpers (models, normalisation, language, handles, time, text, retries, GC pace). Imports nothing else from bot."""
