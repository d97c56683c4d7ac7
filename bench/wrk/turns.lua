-- Real reportbot conversations: every resident walks a whole report, one message at a time.
--
--     wrk -t32 -c32 -d10s -s bench/wrk/turns.lua http://127.0.0.1:PORT -- 32 RESIDENTS_FILE
--
-- RESIDENTS_FILE is written by bench/yardstick.py (bench/residents.py): one request a line,
-- "path<TAB>content type<TAB>extra header or empty<TAB>body", a blank line after each
-- resident. The requests are ready to send: web chat sessions were opened beforehand, and
-- each Twilio webhook is already signed (the signature covers the body, so Python signs it).
--
-- Why a resident's next message is never sent while its previous one is in flight: the
-- yardstick runs wrk with one connection per thread (-t equal to -c), and wrk asks a
-- connection for its next request only once the previous response has been read. Each
-- of N threads takes every N-th resident, starting at its own number, and walks
-- them in turn, each from its first message to its last, so no two threads ever speak for
-- the same resident. A thread that runs out of residents stops (see "exhausted").
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local requests = {}
local next_request = 1

function init(args)
   local threads = thread_count(args)
   local file = assert(io.open(args[2], "rb"))
   local resident = 0
   local mine = false
   local at_start = true
   for line in file:lines() do
      if line == "" then
         at_start = true
      else
         if at_start then
            mine = resident % threads == thread_id
            resident = resident + 1
            at_start = false
         end
         if mine then
            local path, content_type, header, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
            local headers = {["Content-Type"] = content_type}
            local name, value = header:match("^([^:]+): (.*)$")
            if name then
               headers[name] = value
            end
            table.insert(requests, wrk.format("POST", path, headers, body))
         end
      end
   end
   file:close()
end

function request()
   local r = requests[next_request]
   if r == nil then
      exhausted = true
      wrk.thread:stop()
      return wrk.format("GET", "/healthz")
   end
   next_request = next_request + 1
   return r
end
