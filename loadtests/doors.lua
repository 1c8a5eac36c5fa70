-- Door rush for wrk.
--
--   wrk -t D -c D -d 10s --timeout 30s -s loadtests/doors.lua http://127.0.0.1:PORT     (per door)
--   wrk -t T -c D -d 10s --timeout 30s -s loadtests/doors.lua http://127.0.0.1:PORT     (shared)
--
-- Settings come from the environment (python -m loadtests.doorrush sets them):
--   RC_PATH     the check-in path, /api/v2/sessions/<id>/attendance/checkin
--   RC_API_KEY  the API key sent in the API-Key header
--   RC_RUN      the run's prefix for badge ids (RUN-B0000042) and external ids (RUN-E0000042)
--   RC_KEYS     the prefix of idempotency keys (KEYS-K0000042), unique per session
--   RC_N        number of attendees; wrk thread t scans badges t, t+T, t+2T, ... below N
--   RC_DOORS    T, the thread count given to wrk
--   RC_CONNS    connections per wrk thread (default 1: one thread = one door)
--   RC_CEILING  "1" when driving the empty ceiling app (its answers name no badge)
--   RC_OUT      file the answers are written to, one line per answer:
--               "idx status seq in_room t_sent t_answer reason match attempts"
--               t_* are CLOCK_MONOTONIC seconds (the dashboards use the same clock),
--               then one line per thread: "door tid next_idx attempts", one line per badge
--               still waiting for its answer when the run stopped: "inflight idx", and the
--               wrk summary.
--
-- Every connection is one door: one keep-alive connection, one scan at a time.
--
-- One thread per door (RC_CONNS=1). A door sends its current badge until it gets an answer;
-- wrk calls request() again after a broken connection, so the same badge goes out again with
-- the same idempotency key, as a real scanner would retry. Only an answer moves the door to
-- its next badge. The answer is matched to its badge by construction and checked: an accepted
-- answer must name that badge's attendee (match=1). A door out of badges stops its thread.
--
-- Several doors per thread (RC_CONNS>1). wrk does not tell the script which connection an
-- answer came on, so the thread keeps the set of its badges in flight, and an answer is
-- matched by the attendee it names: an accepted answer must name a badge of this thread that
-- is in flight and not yet answered (match=1, latency from that badge's send), else match=0.
-- An answer that names nobody (a refusal: 404, 409, 503) is written with idx -1 and the send
-- time of the oldest in-flight badge no such answer has used yet; the badges stay in flight,
-- and the benchmark resends every in-flight badge after the stop with its idempotency key, so
-- each ends with a known answer. A broken connection does not resend at once (the script
-- cannot tell which badge it carried): its badge stays in flight for that resend. On the
-- ceiling app every answer names nobody: the oldest in flight is taken as answered (FIFO).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } rc_timespec;
int clock_gettime(int clk_id, rc_timespec *tp);
]]
local ts = ffi.new("rc_timespec")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local path = os.getenv("RC_PATH") or "/api/v2/sessions/x/attendance/checkin"
local api_key = os.getenv("RC_API_KEY") or ""
local run = os.getenv("RC_RUN") or "run"
local keys = os.getenv("RC_KEYS") or run
local n = tonumber(os.getenv("RC_N") or "1000")
local doors = tonumber(os.getenv("RC_DOORS") or "1")
local conns = tonumber(os.getenv("RC_CONNS") or "1")
local ceiling = os.getenv("RC_CEILING") == "1"
local out_path = os.getenv("RC_OUT") or "doors.out"
local shared = conns > 1
local named = '"external_id":"' .. run .. '-E'

-- setup/done phase (main state) ---------------------------------------------------------
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local f = assert(io.open(out_path, "w"))
  for _, t in ipairs(threads) do
    local lines = t:get("out")
    for i = 1, #lines do
      f:write(lines[i], "\n")
    end
    f:write(string.format("door %d %d %d\n", t:get("tid"), t:get("cur"), t:get("attempts")))
    if not ceiling then
      for idx, _ in pairs(t:get("flight")) do
        f:write(string.format("inflight %d\n", idx))
      end
    end
  end
  f:write(string.format("wrk %d %d %d %d %d %d %d\n", summary.duration, summary.requests,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
  f:close()
end

-- running phase (one state per thread) --------------------------------------------------
tid = 0
cur = 0
attempts = 0
out = {}
flight = {}        -- shared mode: idx -> send time of every badge in flight
local order = {}   -- shared mode: badges in the order sent
local head = 1     -- shared mode: the oldest entry of `order` no unnamed answer has used
local used = {}    -- shared mode: idx -> true once an unnamed answer took its send time
local probed = false -- wrk calls request() once on thread 0 to check it, and never sends it
local t_sent = nil
local req = nil
local expect = nil
local stopped = false

function init(args)
  cur = tid
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["API-Key"] = api_key
end

local function body_for(idx)
  return string.format(
    '{"badge_id":"%s-B%07d","idempotency_key":"%s-K%07d","source":"scan"}', run, idx, keys, idx)
end

local function field(body)
  local seq = string.match(body, '"seq":(%d+)') or "-"
  local in_room = string.match(body, '"in_room":(%d+)') or "-"
  local reason = string.match(body, '"reason":"([%w_]+)"') or "-"
  return seq, in_room, reason
end

local function stop()
  if not stopped then
    stopped = true
    wrk.thread:stop()
  end
  return wrk.format("GET", "/healthz", nil, nil)
end

-- one thread per door -------------------------------------------------------------------
local function request_door()
  if cur >= n then
    return stop()
  end
  if req == nil then
    expect = string.format('"%s-E%07d"', run, cur)
    req = wrk.format("POST", path, nil, body_for(cur))
    t_sent = now()
    attempts = 0
  end
  attempts = attempts + 1
  return req
end

local function response_door(status, body)
  if req == nil then
    return -- the stray /healthz of a door that ran out
  end
  local t1 = now()
  local seq, in_room, reason = field(body)
  local match = 0
  if string.find(body, expect, 1, true) then
    match = 1
  end
  out[#out + 1] = string.format("%d %d %s %s %.6f %.6f %s %d %d", cur, status, seq, in_room,
    t_sent, t1, reason, match, attempts)
  cur = cur + doors
  attempts = 0
  req = nil
end

-- several doors per thread --------------------------------------------------------------
local function request_shared()
  if tid == 0 and not probed then
    probed = true
    return wrk.format("POST", path, nil, body_for(cur))
  end
  if cur >= n then
    return stop()
  end
  local idx = cur
  cur = cur + doors
  flight[idx] = now()
  order[#order + 1] = idx
  return wrk.format("POST", path, nil, body_for(idx))
end

local function oldest_unused()
  while head <= #order do
    local idx = order[head]
    if flight[idx] ~= nil and not used[idx] then
      return idx
    end
    order[head] = nil
    head = head + 1
  end
  return nil
end

local function response_shared(status, body)
  if stopped then
    return
  end
  local t1 = now()
  local seq, in_room, reason = field(body)
  local s = string.find(body, named, 1, true)
  if s ~= nil then
    local idx = tonumber(string.sub(body, s + #named, s + #named + 6))
    local sent = idx and flight[idx]
    if sent then
      flight[idx] = nil
      used[idx] = nil
      out[#out + 1] = string.format("%d %d %s %s %.6f %.6f %s 1 1", idx, status, seq, in_room,
        sent, t1, reason)
    else
      out[#out + 1] = string.format("%d %d %s %s %.6f %.6f %s 0 1", idx or -1, status, seq,
        in_room, t1, t1, reason)
    end
    return
  end
  local idx = oldest_unused()
  local sent = t1
  if idx ~= nil then
    sent = flight[idx]
    if ceiling then
      flight[idx] = nil
    else
      used[idx] = true
    end
  end
  out[#out + 1] = string.format("%d %d %s %s %.6f %.6f %s 0 1", ceiling and (idx or -1) or -1,
    status, seq, in_room, sent, t1, reason)
end

function request()
  if shared then
    return request_shared()
  end
  return request_door()
end

function response(status, headers, body)
  if shared then
    return response_shared(status, body)
  end
  return response_door(status, body)
end
