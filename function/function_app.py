"""The Azure Functions app (Python v2 programming model): registers the payment-events blueprint."""

import azure.functions as func

from payment_events import bp

app = func.FunctionApp()
app.register_functions(bp)
