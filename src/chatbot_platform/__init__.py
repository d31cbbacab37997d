"""ChatbotPlatform: self-hostable, multi-tenant RAG chatbot platform."""

__version__ = "0.1.0"
