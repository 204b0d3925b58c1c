"""NLP-assisted theme discovery for qualitative research transcripts."""

__version__ = "0.1.0"
