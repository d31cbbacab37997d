"""Vector stores: the only place that speaks pgvector or Milvus."""
