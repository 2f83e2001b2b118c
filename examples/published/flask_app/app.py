from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/")
def index():
    return "number classifier"


@app.route("/classify", methods=["POST"])
def classify():
    number = int(request.get_json(force=True).get("number", 0))
    return jsonify({"number": number, "even": number % 2 == 0})


if __name__ == "__main__":
    app.run(debug=True)
