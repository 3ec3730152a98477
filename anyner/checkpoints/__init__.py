"""Reading and writing model folders: anyner's own format and the public gliner library's."""

CONFIG_FILE = "anyner_config.json"  # anyner's config, in weights folders and ONNX exports alike
