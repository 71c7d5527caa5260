from stellarstream.cli import app

app()
