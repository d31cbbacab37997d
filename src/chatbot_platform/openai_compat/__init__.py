"""The OpenAI-compatible API (`/v1/chat/completions`, `/v1/models`, `/v1/embeddings`): an adapter
between OpenAI's request, response, stream and error shapes and the product's own types. Only this
package knows OpenAI's field names."""
