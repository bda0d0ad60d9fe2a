-- wrk script: POST /post with a 64 KB body (Content-Length framing); the answer is its size.
wrk.method = "POST"
wrk.path = "/post"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("0123456789abcdef", 4096)
