"""Reading and writing model folders: anyner's own format and the public gliner library's."""
