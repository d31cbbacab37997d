"""ChatbotPlatform: self-hostable, multi-tenant RAG chatbot platform."""

import os

# numpy only multiplies small matrices here (reranking, MMR); OpenBLAS threads for them would
# contend with the local embedder's own threads on a small machine, so one thread by default.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
