"""A bare Flask endpoint: the baseline the full conversation turns are compared with."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/bare")
def bare():
    """Parse a small JSON body and answer with a small JSON body, nothing else."""
    body = request.get_json(silent=True) or {}
    return jsonify({"messages": [{"text": "ok", "echo": len(body.get("text", ""))}],
                    "done": False})
