"""Server-rendered HTML pages (Jinja2 templates in ``stellarstream/api/templates``)."""
