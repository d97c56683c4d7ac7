-- The bare Flask endpoint (bench/bare_app.py): a small JSON body in, a small one out.
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

wrk.method = "POST"
wrk.path = "/bare"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "no"}'
