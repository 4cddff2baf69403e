"""The query language: parser, match documents, highlighting, stemming and the bulk subscription matcher. May import bot.core."""
