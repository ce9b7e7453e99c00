"""Readers for model file formats: each turns an untrusted file into tensors and metadata."""
