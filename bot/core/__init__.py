"""Core value types and pure helpers (models, normalisation, language, handles, time, text, retries). Imports nothing else from bot."""
