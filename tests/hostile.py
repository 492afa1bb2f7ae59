"""Field values that would act if they reached HTML, Slack mrkdwn or MLflow names unescaped (shared by the tests)."""

HOSTILE = [
    "</script><script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned'\">",
    "<!channel>",
    "<!here>",
    "a@b (c)+d",
]
