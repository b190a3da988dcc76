return {math.random(), math.random(100), math.random(5,10)}
--
return {math.random(), math.random(100), math.random(5,10)}
--
math.randomseed(42); return {math.random(), math.random(100)}
--
return tostring(math.random())
--
return type(struct)
--
return struct.pack('>I2', 258)
--
return {struct.unpack('>I2', struct.pack('>I2', 258))}
--
return struct.size('i')
--
return cjson.encode({})
--
return cjson.encode(cjson.null)
--
return cjson.encode({1.5, 0.1, 1/3, 1e20, 123456789012345678})
--
return cjson.encode({a=cjson.null})
--
return cjson.decode('[1,2')
--
return cjson.decode('{"a":null}').a == cjson.null
--
return cjson.encode({[1]=1,[3]=3})
--
return cjson.encode({[1]=1,[20]=3})
--
return cjson.encode({'/', '\n', '\1'})
--
return cjson.encode(1/0)
--
return cjson.decode('nul')
--
return cjson.decode('')
--
return cjson.decode('{"a":1,"b":[1,2,3]}').b[2]
--
return cjson.encode(function() end)
--
return cjson.encode({[true]=1})
--
return tostring(cjson.decode('1e400'))
--
return struct.pack('>i', -2)
--
return struct.pack('<hHbB', -2, 65535, -1, 255)
--
return struct.pack('!4bi', 1, 2)
--
return struct.pack('d', 1.5)
--
return struct.pack('>f', 1.5)
--
return struct.pack('s', 'abc')
--
return struct.pack('c5', 'abc')
--
return struct.pack('c5', 'abcdefg')
--
return struct.pack('c0', 'abcdefg')
--
return struct.pack('z', 1)
--
return struct.pack('i', 'x')
--
return struct.pack('i')
--
return struct.pack('i33', 1)
--
return struct.pack('!3i', 1)
--
return struct.pack('>l', 1)
--
return struct.pack('>I16', 1)
--
return struct.pack('>i16', -1)
--
return {struct.unpack('>i16', struct.pack('>i16', -1))}
--
return {struct.unpack('<i', 'ab')}
--
return {struct.unpack('>ic0', struct.pack('>i', 3) .. 'abcd')}
--
return {struct.unpack('s', 'abc')}
--
return {struct.unpack('s', 'ab\0cd')}
--
return {struct.unpack('>d', struct.pack('>d', 3.25))}
--
return {struct.unpack('c2', 'abcd', 2)}
--
return {struct.unpack('c2', 'abcd', 0)}
--
return {struct.unpack('c2', 'abcd', 10)}
--
return struct.size('!8bd')
--
return struct.size('s')
--
return struct.size('c0')
--
return struct.size('>iIhH')
--
return struct.size('q')
--
return {struct.unpack('c0', 'abc')}
--
return tostring(struct.unpack('>L', '\255\255\255\255\255\255\255\255'))
--
return tostring(struct.unpack('>l', '\255\255\255\255\255\255\255\254'))
--
return struct.pack('>I', 3.7)
--
return struct.pack('>i', '12')
--
return struct.pack('s', 12)
--
local ok, e = pcall(struct.pack, 'z'); return e
--
local ok, e = pcall(function() return cjson.decode('[') end); return e
--
local ok, e = pcall(cjson.decode, '['); return e
--
return cjson.encode({a={b={c={1,2,3}}}})
--
return cjson.encode({1, 'x', true, false})
--
return cjson.encode('a\127b')
--
return cjson.encode(0.1 + 0.2)
--
return cjson.encode({[1.5]=1})
--
return cjson.encode()
--
return cjson.encode(1, 2)
--
return cjson.decode()
--
return cjson.decode({})
--
return cjson.decode(12)
--
return cjson.decode('"\\u00e9\\ud83d\\ude00"')
--
return cjson.decode('"\\x"')
--
return cjson.decode('"abc')
--
return cjson.decode('[1,2] x')
--
return cjson.decode('{"a" 1}')
--
return cjson.decode('{1:2}')
--
return cjson.decode('{"a":1,}')
--
return cjson.decode('-')
--
return cjson.decode('0x10')
--
return cjson.decode('tru')
--
return type(cjson.null)
--
return type(cjson.decode('null'))
--
return cjson.encode(cjson.decode('{"a":[1,{"b":null}]}'))
--
local t = {} for i=1,1100 do t = {t} end return cjson.encode(t)
--
return cjson.decode(string.rep('[', 1100))
--
return tostring(cjson.decode('1e400'))
--
return cjson.decode('12.5e1')
--
return cjson.encode({[1]=1,[2]=2,[4]=4})
--
return cjson.encode({[1]=1,[10]=10})
--
return cjson.encode({[1]=1,[11]=10})
--
return cjson.encode({[1]=1,['x']=10})
--
return {math.random(0)}
--
return math.random(1,2,3)
--
return math.random(3,1)
--
return tostring(math.random(2.7))
--
#!lua flags=no-writes
return redis.call('set','a','b')
--
#!lua
return 1
--
#!lua flags=foo
return 1
--
#!js
return 1
--
#!lua name=x
return 1
--
#!lua flags=no-writes,allow-oom
return 1
--
#!lua flags=
return 1
--
#! lua
return 1
--
#!lua  flags=no-writes
return 1
--
#!lua
--
#!lua flags=no-writes
return redis.call('get','a')
--
#!lua flags=allow-cross-slot-keys,no-cluster,allow-stale
return 2
--
#!lua
return redis.call('set',KEYS[1],1)
--
#!lua
error('x')
--
#!lua flags=no-writes,no-writes
return 1
--
#!lua flags=no-writes name=y
return 1
--
#!lua
return 1
--
#!
return 1
--
#!lua flags=no-writes
return redis.call('eval_ro','return 1',0)
--
return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.encode_number_precision(), cjson._NAME, cjson._VERSION, cjson.decode_max_depth(), cjson.decode_invalid_numbers(), tostring(cjson.null), {cjson.encode_sparse_array()}}
