"""The Lua scripts behind `RedisDeliveries`: each is one atomic step on the server.

Keys, under the store's prefix P (passed as ARGV[1]):

    P.."cb:seq"        counter: incarnations, queue order, claim tokens
    P.."cb:d:"..task   hash: one delivery (its fields mirror `DeliveryRecord`)
    P.."cb:order"      zset: task -> the order it was first scheduled in (for listing)
    P.."cb:due"        zset: queued work -> due time (mock ms); members start with
                       their zero-padded queue order, so equal due times keep it,
                       then "|" and the item (JSON)
    P.."cb:flight"     zset: claim token -> lease expiry (Redis server ms); a work is
                       held while its token is here
    P.."cb:work"       hash: claim token -> the claimed work (JSON)
    P.."cb:batch"      string: the reorder batch being collected
    P.."cb:held:"..id  list: a reorder batch's held deliveries (JSON)
    P.."cb:log"        list: the attempt log (JSON), its last `size` entries read; trimmed
                       to them once it is a sixteenth longer

A claim token is the work's queue order (a start's copy adds "." and its number,
a reorder batch of several sends "*" and their number), "@" and the dispatcher
holding the lease: another dispatcher claiming the work again gives it another
token, so a lease is checked, and ended, by the token's presence in cb:flight
alone. (Earlier versions' tokens had no "@", their cb:work entries started with
the holder and the number of sends: a claim still takes such leases over.)

Numbers travel as decimal strings (`%d`): Lua's own number-to-string keeps
only 14 digits, and mock times go up to 2**53.
"""

from __future__ import annotations

from typing import Final

# Each script defines only the helpers it uses: Redis runs a script's whole
# text on every call, and defining a helper (a closure, a table) costs time
# on each one; the settle script runs once per callback.
# Counts are mostly 0 and 1: those are spared the C library's conversions (strtod and
# sprintf, a thousand instructions and more each).
_BASE: Final = """
local P = ARGV[1]
local function s(n)
  if n == 0 then return '0' elseif n == 1 then return '1' end
  return string.format('%d', n)
end
local function num(x)
  if x == '0' then return 0 elseif x == '1' then return 1 end
  return tonumber(x) or 0
end
"""

_QUEUE: Final = """
local function seq() return redis.call('INCR', P..'cb:seq') end
local function push(due, item)
  local member = string.format('%016d', seq())..'|'..cjson.encode(item)
  redis.call('ZADD', P..'cb:due', due, member)
end
"""


def _load(*fields: str, name: str = "load") -> str:
    """The Lua helper `load(task)` (or `name`): the delivery's `fields` a script reads, nil
    if there is no such delivery. Each script reads only its own: every field is a search
    of the hash. The table is built by one constructor: filled field by field, Lua would
    grow it four times over."""
    names = ", ".join(f"'{field}'" for field in ("inc", *fields))
    table = ", ".join(f"{field} = v[{k}] or nil" for k, field in enumerate(("inc", *fields), 1))
    return f"""
local function {name}(task)
  local v = redis.call('HMGET', P..'cb:d:'..task, {names})
  if not v[1] then return nil end
  return {{{table}}}
end
"""


_LEASES: Final = """
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Whether `token` ends with "@" and `owner`: compared in place, as cutting and joining
-- strings makes Lua new ones, each hashed and, later, collected.
local function owns(token, owner)
  return string.byte(token, -#owner - 1) == 64 and string.find(token, owner, -#owner, true)
end
-- The number of sends in a token's work: 1 unless the token says "*" and a number.
local function sends_of(token, at)
  local star = string.find(token, '*', 1, true)
  if not star or star > at then return 1 end
  return tonumber(string.sub(token, star + 1, at - 1))
end
"""

SCHEDULE: Final = (
    _BASE
    + _QUEUE
    + """
local task, due = ARGV[2], ARGV[9]
local key = P..'cb:d:'..task
local inc = s(seq())
redis.call('DEL', key)
-- The fields SETTLE reads and writes first: a small hash is a list, searched from the front.
redis.call('HSET', key, 'inc', inc, 'attempts', '0', 'delivered', '0', 'wanted', '0',
  'active', '0', 'pend', '0', 'epoch', '0', 'lstatus', '', 'lerror', '', 'next', '',
  'gen', '0', 'started', '0', 'dropped', '0', 'url', ARGV[3], 'origin', ARGV[4],
  'drop', ARGV[5], 'copies', ARGV[6], 'delay', ARGV[7], 'reorder', ARGV[8], 'due', due)
if ARGV[10] ~= '' then redis.call('HSET', key, 'fault', ARGV[10]) end
redis.call('ZADD', P..'cb:order', 'NX', inc, task)
push(due, {k = 'start', t = task, i = inc, g = '0'})
return 1
"""
)

RESCHEDULE: Final = (
    _BASE
    + _QUEUE
    + _load("gen", "started", "delay")
    + """
local task = ARGV[2]
local r = load(task)
if not r or r.started == '1' then return 0 end
local gen = s(num(r.gen) + 1)
local due = s(tonumber(ARGV[3]) + num(r.delay))
redis.call('HSET', P..'cb:d:'..task, 'gen', gen, 'due', due)
push(due, {k = 'start', t = task, i = r.inc, g = gen})
return 1
"""
)

REDELIVER: Final = (
    _BASE
    + _QUEUE
    + _load("active", "wanted", "delivered")
    + """
local task, now = ARGV[2], ARGV[3]
local r = load(task)
if not r then return 0 end
local key = P..'cb:d:'..task
redis.call('HSET', key, 'active', s(num(r.active) + 1),
  'wanted', s(math.max(num(r.wanted), num(r.delivered) + 1)))
push(now, {k = 'fresh', t = task, i = r.inc, d = now})
return 1
"""
)

# ARGV: P, now (mock ms), owner, limit, reorder window ms, lease ms per send.
# Returns token, work JSON, token, work JSON, ...: expired leases first, then due work.
# The works' leases and entries are written at the end, in one call each. Run once per
# 64 callbacks but costing Redis as much per callback as the settle script: what it does
# per work is kept lean (no table filled field by field; numbers handed to Redis are
# strings, as Lua formats its own with '%.14g', slowly).
CLAIM: Final = (
    _BASE
    + _QUEUE
    + _load("epoch", "pend", "origin", "url", "copies")
    + _load(
        *("gen", "origin", "url", "fault", "drop", "copies", "reorder", "active", "wanted"),
        "due",
        name="load_start",  # most items: a start reads its effect, no retry's fields
    )
    + _LEASES
    + """
local owner = ARGV[3]
local limit, window, lease = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local clock = server_ms()
local out, leases, entries, count = {}, {}, {}, 0
local one_lease, tail = s(clock + lease), '@'..owner  -- a one-send work's lease

local function own(base, json, sends)  -- base: the token but for its holder
  local token, expiry, k = base..tail, one_lease, count * 2  -- k: pairs so far, in each list
  if sends ~= 1 then
    token, expiry = base..'*'..s(sends)..tail, s(clock + lease * sends)
  end
  leases[k + 1], leases[k + 2] = expiry, token
  entries[k + 1], entries[k + 2] = token, json
  out[k + 1], out[k + 2] = token, json
  count = count + 1
  return token
end

local function reclaim(token)  -- a lease that ran out: the work, claimed again whole
  local json, base, sends = redis.call('HGET', P..'cb:work', token), token, nil
  local at = string.find(token, '@', 1, true)
  if at then
    local star = string.find(token, '*', 1, true)
    base, sends = string.sub(token, 1, (star and star < at and star or at) - 1), sends_of(token, at)
  elseif json then  -- an earlier version's lease: holder|sends|work
    local count
    count, json = string.match(json, '^[^|]*|(%d+)|(.*)$')
    sends = tonumber(count)
  end
  if not json then  -- no work (never expected): only the lease goes
    redis.call('ZREM', P..'cb:flight', token)
    return
  end
  if own(base, json, sends) ~= token then  -- another holder: the old token ends
    redis.call('ZREM', P..'cb:flight', token)
    redis.call('HDEL', P..'cb:work', token)
  end
end

local function work(base, lane, sends)
  own(base, cjson.encode({lane = lane, sends = sends}), #sends)
end

local function one(base, lane, t, u, i, a, d)  -- a work of one send
  own(base, cjson.encode({lane = lane, sends = {{t = t, u = u, i = i, a = a, d = d}}}), 1)
end

local function start(r, task, order)
  local key = P..'cb:d:'..task
  if r.fault then redis.call('HSET', key, 'started', '1', 'lerror', r.fault) return end
  if r.drop == '1' then redis.call('HSET', key, 'started', '1', 'dropped', '1') return end
  local copies = num(r.copies)
  redis.call('HSET', key, 'started', '1', 'active', s(num(r.active) + copies),
    'wanted', s(num(r.wanted) + copies))
  if r.reorder ~= '1' then
    for c = 1, copies do  -- due: the start's own, kept in the delivery as it was queued
      one(order..(c == 1 and '.1' or '.'..s(c)), r.origin, task, r.url, r.inc, '1', r.due)
    end
    return
  end
  -- The first reordered delivery to fall due opens a window; those falling due
  -- before it closes join, and at the close they go out newest due first.
  local due = tonumber(r.due)
  local batch = redis.call('GET', P..'cb:batch')
  if not batch then
    batch = s(seq())
    redis.call('SET', P..'cb:batch', batch)
    push(s(due + window), {k = 'batch', b = batch, d = s(due + window)})
  end
  local held = cjson.encode({d = s(due), q = order, i = r.inc, t = task})
  redis.call('RPUSH', P..'cb:held:'..batch, held)
end

local function close(item, order)
  if redis.call('GET', P..'cb:batch') == item.b then redis.call('DEL', P..'cb:batch') end
  local held = {}
  for _, h in ipairs(redis.call('LRANGE', P..'cb:held:'..item.b, 0, -1)) do
    held[#held + 1] = cjson.decode(h)
  end
  redis.call('DEL', P..'cb:held:'..item.b)
  table.sort(held, function(a, b)
    if tonumber(a.d) ~= tonumber(b.d) then return tonumber(a.d) > tonumber(b.d) end
    return a.q > b.q
  end)
  local sends = {}
  for _, h in ipairs(held) do
    local r = load(h.t)
    if r and r.inc == h.i then
      for _ = 1, tonumber(r.copies) do
        sends[#sends + 1] = {t = h.t, u = r.url, i = h.i, a = '1', d = item.d}
      end
    end
  end
  if #sends > 0 then work(order, '', sends) end
end

local function take(item, order)
  if item.k == 'batch' then close(item, order) return end
  local r = (item.k == 'start' and load_start or load)(item.t)
  if not r or r.inc ~= item.i then return end  -- replaced or forgotten since
  if item.k == 'fresh' then
    one(order, r.origin, item.t, r.url, item.i, '1', item.d)
  elseif item.k == 'retry' then
    if item.e == r.epoch then  -- else cancelled by a success
      redis.call('HSET', P..'cb:d:'..item.t, 'pend', s(num(r.pend) - 1))
      one(order, r.origin, item.t, r.url, item.i, item.a, item.d)
    end
  elseif item.g == r.gen then
    start(r, item.t, order)
  end
end

-- Leases that ran out: their owner died or stalled; the work is claimed again whole.
local expired = redis.call('ZRANGEBYSCORE', P..'cb:flight', '-inf', s(clock), 'LIMIT', '0',
  ARGV[4])
for _, token in ipairs(expired) do reclaim(token) end
while count < limit do
  local due = redis.call('ZRANGEBYSCORE', P..'cb:due', '-inf', ARGV[2], 'LIMIT', '0',
    s(limit - count))
  if #due == 0 then break end
  redis.call('ZREM', P..'cb:due', unpack(due))
  for _, member in ipairs(due) do
    take(cjson.decode(string.sub(member, 18)), string.sub(member, 1, 16))
  end
end
if count > 0 then
  redis.call('ZADD', P..'cb:flight', unpack(leases))
  redis.call('HSET', P..'cb:work', unpack(entries))
end
return out
"""
)

# ARGV: P, owner, lease ms per send, token, token, ...  Returns the tokens the owner holds:
# those naming it whose work is still claimed (in cb:work, which keeps pace with
# cb:flight), read in one call: each call from a script costs as much as a small command.
RENEW: Final = (
    _BASE
    + _LEASES
    + """
local owner, lease = ARGV[2], tonumber(ARGV[3])
local clock = server_ms()
local held, leases, one = {}, {}, s(clock + lease)  -- a one-send work's lease
local works = redis.call('HMGET', P..'cb:work', unpack(ARGV, 4))
for k = 4, #ARGV do
  local token = ARGV[k]
  if works[k - 3] and owns(token, owner) then
    local sends = sends_of(token, #token - #owner)
    leases[#leases + 1] = sends == 1 and one or s(clock + lease * sends)
    leases[#leases + 1] = token
    held[#held + 1] = token
  end
end
if #leases > 0 then redis.call('ZADD', P..'cb:flight', 'XX', unpack(leases)) end
return held
"""
)

# ARGV: P, token, owner, last send of its work (1/0), task, incarnation, attempt, ok (1/0),
# status, error, retry due ('' for none), log size, and the logged entry's JSON but for
# its end (the attempt's number and outcome, which only the script knows). Returns the
# outcome and the attempt's number (the caller knows the rest of the entry), or false if
# the attempt no longer counts. The hot path of every callback: two small helpers, no
# JSON encoded (but a retry's queue item), the lease checked and ended by its token
# alone, only the fields it needs read, and a delivery hash whose counters come first
# (listpack lookups scan from the front).
SETTLE: Final = """
local P, token, owner = ARGV[1], ARGV[2], ARGV[3]
local task, inc = ARGV[5], ARGV[6]
-- Held if the token names the owner (compared in place: see _LEASES' owns) and is
-- still in flight; else the lease ran out and another process took the work.
if string.byte(token, -#owner - 1) ~= 64 or not string.find(token, owner, -#owner, true) then
  return false
end
if ARGV[4] == '1' then  -- the work's last send: its lease ends
  if redis.call('ZREM', P..'cb:flight', token) == 0 then return false end
  redis.call('HDEL', P..'cb:work', token)
elseif not redis.call('ZSCORE', P..'cb:flight', token) then
  return false
end
local key = P..'cb:d:'..task
local f = redis.call('HMGET', key, 'inc', 'attempts', 'delivered', 'wanted', 'active', 'pend',
  'epoch')
if f[1] ~= inc then return false end  -- replaced or forgotten since
local ok, retry_due = ARGV[8] == '1', ARGV[11]
-- Numbers go to Redis as '%d' strings: a Lua number converts with '%.14g', several
-- times slower. Counts are mostly 0 and 1, and spared the C library's conversions
-- (strtod and sprintf, a thousand instructions and more each); an unchanged count is
-- written back as it was read, or not at all.
local function num(x)
  if x == '0' then return 0 elseif x == '1' then return 1 end
  return tonumber(x)
end
local function str(n)
  if n == 0 then return '0' elseif n == 1 then return '1' end
  return string.format('%d', n)
end
local attempts, delivered, count = str(num(f[2]) + 1), f[3], num(f[3])
if ok then count = count + 1; delivered = str(count) end
local enough = count >= num(f[4])  -- delivered as often as asked
local active, pend = num(f[5]), num(f[6])
-- Sized for every field at once (no growth): the placeholders past `n` are not sent.
local sets = {'attempts', attempts, 'delivered', delivered, 'lstatus', ARGV[9],
  'lerror', ARGV[10], '', '', '', '', '', '', '', ''}
local n, epoch, moved = 8, f[7], pend
if enough then  -- retries are cancelled
  epoch = str(num(epoch) + 1)
  active = active - pend
  pend = 0
  sets[n + 1] = 'epoch'; sets[n + 2] = epoch; n = n + 2
end
local outcome
if ok or retry_due == '' or enough then
  active = active - 1
  outcome = ok and 'delivered' or 'failed'
  if active == 0 then sets[n + 1] = 'next'; sets[n + 2] = ''; n = n + 2 end
else
  pend = pend + 1
  outcome = 'retrying'
  sets[n + 1] = 'next'; sets[n + 2] = retry_due; n = n + 2
  local item = cjson.encode({k = 'retry', t = task, i = inc, e = epoch,
    a = str(num(ARGV[7]) + 1), d = retry_due})
  local order = string.format('%016d', redis.call('INCR', P..'cb:seq'))
  redis.call('ZADD', P..'cb:due', retry_due, order..'|'..item)
end
sets[n + 1] = 'active'; sets[n + 2] = str(active); n = n + 2
if pend ~= moved then sets[n + 1] = 'pend'; sets[n + 2] = str(pend); n = n + 2 end
redis.call('HSET', key, unpack(sets, 1, n))
local entry = ARGV[13]..attempts..'","o":"'..outcome..'"}'
-- Trimmed once it is a sixteenth over its size, not at every push: readers read the
-- last `size` entries (RedisAttemptLog), so the cap they see stays exact.
local size = tonumber(ARGV[12])
if redis.call('RPUSH', P..'cb:log', entry) > size + (size - size % 16) / 16 then
  redis.call('LTRIM', P..'cb:log', -size, -1)
end
return {outcome, attempts}
"""

# ARGV: P, then SETTLE's ARGV but for P, 12 at a time, for each attempt. Returns SETTLE's
# answer for each, in order (false, a nil in the reply, where it returns false). The
# settles a multiplexing sender collects from one wait on its connections, in one
# script: one round trip and one script call instead of one per callback.
SETTLE_MANY: Final = (
    "local function settle(ARGV)\n"
    + SETTLE
    + """end
local out, n = {}, 0
for k = 2, #ARGV, 12 do
  n = n + 1
  out[n] = settle({ARGV[1], unpack(ARGV, k, k + 11)})
end
return out
"""
)
