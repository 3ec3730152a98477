"""The network: encoder, word and type vectors, span or token head, and the composed model."""
