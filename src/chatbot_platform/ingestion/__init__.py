"""Ingestion: documents (files, text, URLs) to searchable chunks, on the job queues."""
