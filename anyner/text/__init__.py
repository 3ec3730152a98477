"""Text handling: words with character offsets, windows over long texts, labels and prompts."""
