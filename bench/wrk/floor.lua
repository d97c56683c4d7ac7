-- The durable-turn floor (bench/floor_app.py): POST /turn/<conversation> {"message_id"}.
--
-- Like the real channels' residents, no conversation is ever in flight twice: wrk runs one
-- connection per thread (bench/yardstick.py passes -t equal to -c), so a thread's requests
-- follow one another, and each thread round-robins over its own conversations (ids
-- thread_id+1, thread_id+1+threads, ...), which no other thread touches. Message ids
-- are unique per thread and per run.
--
--     wrk -t32 -c32 -d10s -s bench/wrk/floor.lua URL -- 32 RUN_NAME CONVERSATIONS
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local threads, run, per_thread
local sent = 0

function init(args)
   threads = thread_count(args)
   run = args[2]
   per_thread = math.floor(tonumber(args[3]) / threads)
end

function request()
   sent = sent + 1
   local conversation = thread_id + 1 + (sent % per_thread) * threads
   local body = string.format('{"message_id": "%s-%d-%d"}', run, thread_id, sent)
   return wrk.format("POST", "/turn/" .. conversation,
                     {["Content-Type"] = "application/json"}, body)
end
