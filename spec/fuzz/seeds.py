#!/usr/bin/env python3
"""Writes the seed corpora (corpus/<target>/) and libFuzzer dictionaries
(dict/<target>.dict) of spec/fuzz/. Run from anywhere:
    python3 spec/fuzz/seeds.py
It only adds and overwrites its own files; seeds added by hand (or merged
from a long run) stay."""
import os, json, base64, glob
R = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(R))
def put(target, name, data):
    d = os.path.join(R, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), 'wb').write(data)

# ---------------- JSON responses (json_decode, json_roundtrip) -------------
jwt = ('eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.' +
       base64.urlsafe_b64encode(json.dumps({"aud": "1", "jti": "f" * 80, "iat": 1700000000, "exp": 1700003600, "sub": "7043663", "scopes": ["*"] * 30}).encode()).decode().rstrip('=') +
       '.' + 'Q' * 342)
responses = {
 'token.json': '{"access_token":"%s","token_type":"Bearer","expires_in":3600}' % jwt,
 'addressbook_create.json': '{"id":1234567}',
 'result_true.json': '{"result":true}',
 'addressbooks.json': '[{"id":1,"name":"Book 1","all_email_qty":"10","active_email_qty":"9","inactive_email_qty":"1","creationdate":"2019-04-25 08:03:02","status":0,"status_explain":"Active","new_phones_quantity":0,"active_phones_quantity":0,"exc_phones_quantity":0},{"id":2,"name":"\\u041a\\u043d\\u0438\\u0433\\u0430","all_email_qty":0,"active_email_qty":0,"inactive_email_qty":0,"creationdate":"2020-01-01 00:00:00","status":0,"status_explain":"Active"}]',
 'addressbook_one.json': '[{"id":213,"name":"Newsletter","all_email_qty":3,"active_email_qty":3,"inactive_email_qty":0,"creationdate":"2021-06-01 10:00:00","status":0,"status_explain":"Active"}]',
 'variables.json': '[{"name":"name","type":"string"},{"name":"birthday","type":"date"},{"name":"score","type":"number"}]',
 'emails.json': '[{"email":"frodo@shire.me","status":0,"status_explain":"Active","variables":{"name":"Frodo","age":"50"},"phone":380671112233},{"email":"sam@shire.me","status":"1","status_explain":"Not active","variables":[],"phone":null}]',
 'email_info.json': '{"email":"frodo@shire.me","abook_id":"213","status":0,"status_explain":"Active","variables":[{"name":"name","type":"string","value":"Frodo"}]}',
 'total.json': '{"total":42}',
 'cost.json': '{"cur":"USD","sent_emails_qty":3,"overdraft_all_emails_price":0,"address_delta_from_balance":0,"address_delta_from_tariff":0,"max_emails_per_task":25000,"result":true}',
 'email_campaigns.json': '{"statistic":{"sent":12,"open":5,"link":1},"addressbooks":[{"id":213,"address_book_name":"Newsletter"}],"blacklist":false}',
 'campaign_create.json': '{"id":9876,"name":"Spring","status":13,"all_email_qty":1000,"tariff_email_qty":1000,"paid_email_qty":0,"overdraft_price":"0.00","overdraft_currency":"USD","send_date":"2024-03-01 09:00:00","message":{"sender_name":"Shop","sender_email":"news@shop.example","subject":"Spring sale","body":"PGgxPkhlbGxvPC9oMT4=","list_id":213,"attachments":""}}',
 'template.json': '{"id":"b3d1e0f2a4c5","real_id":123,"name":"Welcome","lang":"en","body":"PGh0bWw+PC9odG1sPg==","owner":"me","created":"2022-02-02 02:02:02","preview":"https://example.com/p.png","tags":[],"category_info":[],"is_structure":false}',
 'senders.json': '[{"name":"Shop","email":"news@shop.example","status":"Active"}]',
 'blacklist.json': '["bad@example.com","worse@example.org"]',
 'verifier_check.json': '{"id":213,"address_book_name":"Newsletter","all_emails_quantity":3,"status":3,"check_date":"2024-01-01 00:00:00","data":{"0":0,"1":2,"2":0,"3":1},"is_updated":0,"status_text":"Checked","is_garbage_in_book":false,"email_addresses":["a@b.c"],"email_addresses_total":1}',
 'webhooks.json': '{"success":true,"data":[{"id":1,"user_id":7043663,"url":"https://hooks.example.com/sp","action":"open"}]}',
 'smtp_send.json': '{"result":true,"id":"y5uqqi-0a5lyd-e8"}',
 'smtp_emails.json': '[{"id":"y5uqqi-0a5lyd-e8","sender":"news@shop.example","total_size":1024,"sender_ip":"127.0.0.1","smtp_answer_code":250,"smtp_answer_subcode":"0","smtp_answer_data":"OK","used_ip":"10.0.0.1","recipient":"frodo@shire.me","subject":"Hi","send_date":"2024-01-01 10:00:00","tracking":{"click":1,"open":1,"link":[{"url":"https://shop.example/?a=1&b=2","browser":"Firefox","os":"Linux","screen_resolution":"1920x1080","ip":"10.0.0.2","country":"NZ","action_date":"2024-01-01 10:05:00"}],"client_info":[]}}]',
 'bounces.json': '{"total":1,"emails":[{"email_to":"x@y.z","sender":"a@b.c","send_date":"2024-01-01","subject":"s","smtp_answer_code":550,"smtp_answer_subcode":"5.1.1","smtp_answer_data":"no such user"}],"request_limit":100,"found":1}',
 'sms_numbers.json': '{"result":true,"counters":{"added":2,"exceptions":0,"exists":1}}',
 'sms_campaigns.json': '{"result":true,"data":[{"id":1,"address_book_id":213,"company_price":"0.0450","company_currency":"USD","send_date":"2024-01-01 10:00:00","date_created":"2024-01-01 09:00:00","sender_mail_address":"a@b.c","sender_mail_name":"Shop"}]}',
 'push_task.json': '{"id":55,"message":{"title":"Hi","text":"Sale","link":"https://shop.example"},"website":"shop.example","website_id":7,"status":3,"send":"120","delivered":118,"redirect":9}',
 'webhook_events.json': '[{"event":"open","email":"frodo@shire.me","timestamp":"1700000000","task_id":"9876","book_id":"213"},{"event":"redirect","email":"sam@shire.me","timestamp":"1700000060","link_url":"https://shop.example/x"}]',
 'err_213.json': '{"error_code":213,"message":"Mailing list not found"}',
 'err_999.json': '{"error_code":999,"message":"Badly formed incoming data"}',
 'err_oauth.json': '{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}',
 'err_rate.json': '{"error_code":2020202020}',
 'err_string_code.json': '{"message":"Sender is not valid","error_code":"422"}',
 'err_success_false.json': '{"success":false,"message":"Bot not found","errors":{"bot_id":["invalid"]}}',
 'numbers.json': '[0,-0,1,-1,9007199254740993,9223372036854775807,-9223372036854775808,9223372036854775808,18446744073709551616,0.1,-2.5,1e3,1E+2,1e-7,1e308,1e999,-1e999,123456789.123456789,5e-324]',
 'strings.json': '["a\\"b\\\\c\\/d\\n\\t\\b\\f\\r","\\u00e9\\ud83d\\ude00","\\ud800","\\udc00x","\\u0000","\\uD83D\\uDE00\\uD83D","raw \xd0\xba\xd0\xb8\xd0\xb9","bad \xff\xfe"]',
 'empty_shapes.json': '{"a":[],"b":{},"c":[[]],"d":[{}],"e":null,"f":"","g":[null,null]}',
 'nested.json': '[' * 40 + '{"k":' * 40 + '1' + '}' * 40 + ']' * 40,
 'dup_keys.json': '{"a":1,"a":2,"b":{"c":3,"c":[4]}}',
 'whitespace.json': ' \t\r\n{ "a" : [ 1 , 2 ] , "b" : { } } \n',
 'scalar_true.json': 'true',
 'scalar_string.json': '"just a string"',
}
for src in glob.glob(os.path.join(ROOT, 'sandbox', 'data', '*.json')):
    responses['sandbox_' + os.path.basename(src)] = open(src, 'rb').read().decode()
bad = {
 'bad_trailing_comma.json': '[1,2,]',
 'bad_truncated.json': '{"result":tr',
 'bad_leading_zero.json': '[01]',
 'bad_html.json': '<html><body><h1>502 Bad Gateway</h1></body></html>',
 'bad_unquoted.json': '[{"event":"redirect","link_url":https://x.example}]',
 'bad_control.json': '"a\x01b"',
}
for t in ('json_decode', 'json_roundtrip'):
    for k, v in list(responses.items()) + list(bad.items()):
        put(t, k, v.encode('latin-1') if 'bad ' in v or 'raw ' in v else v)

# ---------------- token ----------------
tok = {
 'ok.json': responses['token.json'],
 'ok_short.json': '{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln","token_type":"Bearer","expires_in":3600}',
 'lowercase_bearer.json': '{"access_token":"abc.def.ghi","token_type":"bearer","expires_in":"7200"}',
 'no_type.json': '{"access_token":"abc.def.ghi","expires_in":60}',
 'no_expiry.json': '{"access_token":"abc.def.ghi","token_type":"Bearer"}',
 'float_expiry.json': '{"access_token":"abc.def.ghi","token_type":"Bearer","expires_in":3599.5}',
 'zero_expiry.json': '{"access_token":"abc","token_type":"Bearer","expires_in":0}',
 'negative_expiry.json': '{"access_token":"abc","token_type":"Bearer","expires_in":-5}',
 'mac_type.json': '{"access_token":"abc","token_type":"mac","expires_in":3600}',
 'space_token.json': '{"access_token":"a b","token_type":"Bearer"}',
 'number_token.json': '{"access_token":12345,"token_type":"Bearer"}',
 'error.json': responses['err_oauth.json'],
 'array.json': '[{"access_token":"abc"}]',
 'empty.json': '',
 'html.json': '<html>Service Unavailable</html>',
}
for k, v in tok.items(): put('token', k, v)

# ---------------- errors ----------------
errs = {
 '404_list.txt': '404 G - - - 0 0\n' + responses['err_213.json'],
 '422_smtp.txt': '422 P - - - 0 0\n' + responses['err_999.json'],
 '403_800.txt': '403 P - - - 1 0\n{"error_code":800,"message":"Unauthorized action."}',
 '401_token.txt': '401 P T - - 0 0\n' + responses['err_oauth.json'],
 '401_api.txt': '401 G - - - 0 0\n',
 '429_seconds.txt': '429 G - - 3 0 0\n' + responses['err_rate.json'],
 '429_date.txt': '429 G - - Sun,_06_Nov_2044_08:49:37_GMT 0 0\n',
 '400_rate_code.txt': '400 G - - - 0 0\n{"error_code":2020202020,"message":"More than 10 requests per second"}',
 '500_empty.txt': '500 G - - - 0 0\n',
 '502_html.txt': '502 G - - - 0 0\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
 '503_truncated.txt': '503 D - - - 1 0\n{"error_code":1,"mess',
 '504_text.txt': '504 U - - - 0 0\nupstream timed out',
 '200_decode.txt': '200 G - 7 - 0 0\n{"result":tr',
 '422_string_code.txt': '422 P - - - 0 0\n' + responses['err_string_code.json'],
 '400_seed_only.txt': '400 P - - - 0 0\n{"error_code":707}',
 '400_success_false.txt': '400 P - - - 0 0\n' + responses['err_success_false.json'],
 '400_echo_secret.txt': '400 P T - - 0 0\n{"message":"bad secret Cl1ent/Secret+Value= for ApiKey-0123456789abcdef"}',
 '401_echo_token.txt': '401 G - - - 2 0\n{"error":"invalid_token eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA.c2ln","message":"expired eyPrevToken.0123.xyz / eyRejected.4567.abc"}',
 '500_long_body.txt': '500 G - - - 4 4090\n{"message":"' + 'x' * 200 + '"}',
 '404_array.txt': '404 G - - - 0 0\n[{"error_code":213}]',
 '400_float_code.txt': '400 G - - - 0 0\n{"error_code":422.0,"message":"x"}',
 'no_header.txt': '{"error_code":8}',
}
for k, v in errs.items(): put('errors', k, v)

# ---------------- head ----------------
heads = {
 '200.txt': 'HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 01 Jan 2024 10:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 16\r\nConnection: keep-alive\r\n\r\n',
 '429_seconds.txt': 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Type: application/json\r\n\r\n',
 '503_date.txt': 'HTTP/1.1 503 Service Unavailable\r\nRetry-After: Sun, 06 Nov 2044 08:49:37 GMT\r\nServer: nginx\r\n\r\n',
 '204.txt': 'HTTP/1.1 204 No Content\r\n\r\n',
 '10.txt': 'HTTP/1.0 200 OK\nContent-Type: text/html\n\n',
 'repeated.txt': 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nVary: Accept\r\nvary: Origin\r\n\r\n',
 'folded.txt': 'HTTP/1.1 200 OK\r\nX-Long: a\r\n  continued\r\n\r\n',
 'no_reason.txt': 'HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n',
 'bad_status.txt': 'HTTP/1.1 20x OK\r\n\r\n',
 'ws_in_name.txt': 'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
 'retry_after_past.txt': 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n',
 'retry_after_big.txt': 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 99999999999999999999\r\n\r\n',
 'retry_after_only.txt': '120',
 'retry_after_date_only.txt': 'Wed, 21 Oct 2015 07:28:00 GMT',
 'retry_after_blank.txt': ' \t 7 \t',
}
for k, v in heads.items(): put('head', k, v)

# ---------------- url ----------------
urls = {
 'base_default.txt': 'https://api.sendpulse.com',
 'base_port_path.txt': 'https://api.example.com:8443/prefix/v1/',
 'base_loopback.txt': 'http://127.0.0.1:8080/api',
 'base_localhost.txt': 'http://localhost:9000',
 'base_ipv6.txt': 'https://[::1]:8443/x',
 'base_ipv6_v4.txt': 'https://[::ffff:127.0.0.1]/',
 'base_http_remote.txt': 'http://api.sendpulse.com',
 'base_userinfo.txt': 'https://user@api.sendpulse.com',
 'base_query.txt': 'https://api.sendpulse.com/?x=1',
 'path_ok.txt': '/addressbooks/123/emails/frodo%40shire.me',
 'path_trailing.txt': '/verifier-service/send-list-to-verify/',
 'path_dots.txt': '/a/%2e%2E/b',
 'path_dot.txt': '/a/./b',
 'path_empty_seg.txt': '/a//b',
 'path_query.txt': '/a?x=1',
 'path_pct_bad.txt': '/a%zz',
 'path_utf8.txt': '/events/name/\xd0\xba\xd0\xb8\xd0\xb9',
 'path_subdelims.txt': "/a!$&'()*+,;=:@b",
 'segment_email.txt': 'a+b@example.com',
 'segment_slash.txt': 'a/b?c#d e%',
 'segment_dotdot.txt': '..',
 'segment_dots3.txt': '...',
 'query_types.txt': 'limit=i:10\noffset=i:0\nprice=f:2.5\nactive=b:1\nemails=l:a@b.c,d@e.f\nname=x y&z',
 'query_floats.txt': 'a=f:-0\nb=f:1e15\nc=f:0.1\nd=f:123456789012\ne=f:-7',
 'query_bad_types.txt': 'ids=e:\nnested=t:\n#=1',
 'query_nan.txt': 'x=f:nan',
 'query_empty_key.txt': '=v\nk=',
 'header_value_tab.txt': 'lua-sendpulse/0.1.0\tcurl',
 'header_value_crlf.txt': 'agent\r\nX-Injected: 1',
}
for k, v in urls.items(): put('url', k, v.encode('latin-1'))

# ---------------- base64 ----------------
b64 = {
 'html.txt': base64.b64encode(b'<h1>Hello</h1>').decode(),
 'one_pad.txt': 'YWI=',
 'two_pad.txt': 'YQ==',
 'no_pad.txt': 'YQ',
 'lines.txt': base64.encodebytes(bytes((i * 37 + 11) % 256 for i in range(120))).decode(),
 'csv_list.txt': base64.b64encode(b'bad@example.com,worse@example.org').decode(),
 'bad_char.txt': 'YW-I',
 'bad_pad_middle.txt': 'YQ==YQ==',
 'bad_three_pad.txt': 'Y===',
 'raw_binary.bin': bytes(range(256)),
}
for k, v in b64.items(): put('base64', k, v)

# ---------------- wire ----------------
wire = {
 'post_oauth.txt': 'https://api.sendpulse.com\nPB\nmy-client-id:my-client-secret:' + jwt[:200] + '\n\n/addressbooks/42/emails\n\n{"emails":[{"email":"a@b.c","variables":{"name":"A"}}]}',
 'token_fetch.txt': 'http://127.0.0.1:8080/api\nGT\nid-\xc3\xa9:s3cr\\et"x:\nmy-agent/1.0 (test)\n/user/info\n\n',
 'api_key_delete.txt': 'https://[::1]:8443\nDK\nApiKey-0123456789abcdef\n\n/senders\n\n',
 'query.txt': 'https://api.example.com:444/v2/\nG\nid:secret:tok.en\n\n/smtp/emails\nlimit=10&offset=0&from=2024-01-01&country=off\n',
 'put_empty.txt': 'http://localhost:9000\nU\nid:secret:tok\n\n/addressbooks/1\n\n',
 'patch_body.txt': 'https://api.sendpulse.com\nAB\nid:secret:tok\n\n/campaigns/9\n\n{"name":"x"}',
}
for k, v in wire.items(): put('wire', k, v.encode('utf-8'))

# ---------------- dictionaries ----------------
def esc(b):
    if isinstance(b, str): b = b.encode()
    out = ''
    for c in b:
        if c == 0x22: out += '\\"'
        elif c == 0x5c: out += '\\\\'
        elif 0x20 <= c < 0x7f: out += chr(c)
        else: out += '\\x%02x' % c
    return '"' + out + '"'
def dict_(name, items):
    os.makedirs(os.path.join(R, 'dict'), exist_ok=True)
    with open(os.path.join(R, 'dict', name + '.dict'), 'w') as f:
        f.write('# libFuzzer dictionary for fuzz_%s (tools/fuzz passes it with -dict=)\n' % name)
        seen = set()
        for it in items:
            if it in seen: continue
            seen.add(it)
            f.write(esc(it) + '\n')
json_tokens = ['{', '}', '[', ']', ':', ',', '"', 'true', 'false', 'null', '\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t',
    '\\u0000', '\\u00e9', '\\ud83d\\ude00', '\\ud800', '\\udc00', '\\uDBFF\\uDFFF', '0', '-0', '-', '.', 'e', 'E+', 'e-', '1e308', '1e999', '-1e999', '5e-324',
    '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '18446744073709551616', '0.1', '1.0',
    '\xc3\xa9', '\xf0\x9f\x98\x80', '\xed\xa0\x80', '\xc0\xaf', '\xff', ' ', '\t', '\r\n', '[[[[[[[[', ']]]]]]]]', '{"a":', '[]', '{}']
keys = ['"error_code"', '"message"', '"error"', '"error_description"', '"access_token"', '"token_type"', '"expires_in"', '"result"', '"id"', '"emails"', '"data"', '"success"', '"total"', '"variables"']
dict_('json_decode', json_tokens + keys)
dict_('json_roundtrip', json_tokens + keys)
dict_('token', json_tokens + keys + ['"Bearer"', '"bearer"', '"BEARER"', '3600', '"3600"', '"0x10"', '1e-9', '0.000001', '1e999', '"1e999"', '-1', 'eyJ', '"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"'])
secrets = ["Cl1ent/Secret+Value=", "ApiKey-0123456789abcdef", "eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA.c2ln", "eyPrevToken.0123.xyz", "eyRejected.4567.abc", "Cl1ent\\/Secret+Value="]
dict_('errors', json_tokens + keys + secrets + ['2020202020', '"2020202020"', '1e300', '-1e300', '213', '707', '<html>', '<!DOCTYPE html>', '\n', ' ',
    '400 ', '401 ', '403 ', '404 ', '422 ', '429 ', '500 ', '502 ', '503 ', '200 ', '204 ', ' G', ' P', ' U', ' A', ' D', ' T', ' -', ' 4090', ' 4096', ' 5000', 'Sun,_06_Nov_2044_08:49:37_GMT'])
dict_('head', ['HTTP/1.1 ', 'HTTP/1.0 ', 'HTTP/2 ', '200 OK', '429 Too Many Requests', '503 ', '\r\n', '\n', '\r\n\r\n', ': ', ':', ' ', '\t',
    'Retry-After: ', 'retry-after', 'Content-Type: application/json', 'Content-Length: ', 'Connection: close', 'Transfer-Encoding: chunked', 'Set-Cookie: ', 'Location: ',
    'Sun, ', 'Mon, ', 'Wed, ', '06 Nov 1994 ', 'Jan', 'Feb', 'Dec', ' GMT', '08:49:37', '23:59:60', '9999', '-1', '99999999999999999999', '0'])
dict_('url', ['https://', 'http://', '127.0.0.1', 'localhost', '[::1]', '[', ']', ':', ':443', ':65535', ':65536', ':0', '/', '//', '%', '%2e', '%2E', '%2F', '%00', '.', '..', '?', '#', '@', '~', '_', '=', '&', '\n',
    'i:', 'f:', 'b:1', 'l:', 'e:', 't:', '#', ',', '1e300', '-1e300', '9.3e18', '-9.2e18', '9223372036854775807', 'inf', 'nan', '-0', '0x10', '\r', '\x00', '\x7f', '\t', '\xc3\xa9'])
dict_('base64', ['=', '==', '===', '\n', '\r\n', ' ', '+', '/', '-', '_', 'QQ==', 'QUI=', 'QUJD', 'AAAA', '////', '\x00'])
dict_('wire', ['https://', 'http://', '127.0.0.1', 'localhost', '[::1]', ':8443', '/api', '\n', 'G', 'P', 'U', 'A', 'D', 'T', 'K', 'B', 'PB', 'GT', 'DK', ':', '/', '%41', '&', '=', '{}', '"', '\\', '\xc3\xa9', '\xff', '\t', ' ', 'eyJ'])

# ---------------- call ----------------
T = '200 - {"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.c2ln","token_type":"Bearer","expires_in":3600}\n'
T2 = '200 - {"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.bmV3","token_type":"Bearer","expires_in":3600}\n'
calls = {
 'oauth_ok.txt': 'O 0 2 G\n' + T + '200 - {"id":1,"name":"Frodo"}\n',
 'oauth_401_refresh.txt': 'O 0 2 G\n' + T + '401 - {"error":"invalid_token"}\n' + T2 + '200 - [1,2,3]\n',
 'oauth_401_twice.txt': 'O 0 2 G\n' + T + '401 - \n' + T2 + '401 - {"message":"still no"}\n',
 'token_401.txt': 'O 0 2 G\n401 - {"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}\n',
 'token_500_retry.txt': 'O 0 2 P\n500 - \n502 - <html>bad gateway</html>\n' + T + '201 - {"result":true,"id":"y5uqqi"}\n',
 'token_bad_json.txt': 'O 0 1 G\n200 - {"access_token":\n',
 'token_decode_echo.txt': 'O 0 1 G\n200 - {"access_token":"has space","client_secret":"Cl1ent/Secret+Value="}\n',
 'rate_limit_429.txt': 'K 0 2 G\n429 1 {"error_code":2020202020}\n429 - \n200 - {"total":3}\n',
 'rate_limit_code.txt': 'K 0 1 D\n400 - {"error_code":2020202020,"message":"More than 10 requests per second"}\n204 - \n',
 'rate_limit_long_wait.txt': 'K 0 2 G\n429 3600 \n',
 'post_503_no_retry.txt': 'K 0 2 P\n503 - \n',
 'put_transport_retry.txt': 'K 0 2 U\nF 28 1 timed out\nF 7 0 refused\n200 - {"result":true}\n',
 'post_sent_failure.txt': 'K 0 2 P\nF 56 1 connection reset\n',
 'api_404.txt': 'K 0 0 G\n404 - {"error_code":213,"message":"Mailing list not found"}\n',
 'api_200_html.txt': 'K 0 0 G\n200 - <html></html>\n',
 'api_204.txt': 'K 0 0 A\n204 - \n',
 'store_hit.txt': 'O 1 2 G\neyStoredToken.abc.def 600\n200 - {"ok":true}\n',
 'store_miss_lock.txt': 'O 1 2 G\n\n1\n\n' + T + '200 - {"ok":true}\n',
 'store_miss_nolock.txt': 'O 1 2 G\n\n0\n' + T + '200 - {"ok":true}\n',
 'store_stale_401.txt': 'O 1 2 G\neyStoredToken.abc.def 600\n401 - \n\n1\n\n' + T2 + '200 - {}\n',
 'store_recheck_hit.txt': 'O 1 2 G\n\n1\neyOtherProcess.tok.en 600\n200 - []\n',
 'inline_default_probe.txt': 'I\n',
 'store_expired.txt': 'O 1 2 G\neyOld.tok.en -5\n1\n\n' + T + '200 - {}\n',
}
for k, v in calls.items(): put('call', k, v)
dict_('call', json_tokens + keys + ['\n', ' ', '- ', 'O 0 2 G\n', 'O 1 2 G\n', 'K 0 2 P\n', 'O 1 0 D\n', 'F 28 1 ', 'F 7 0 ', '200 - ', '201 - ', '204 - ', '401 - ', '429 ', '500 - ', '503 - ',
    T, '"Bearer"', '"expires_in":', '1e-9', '0.5', '1', 'Cl1ent/Secret+Value=', 'ApiKey-0123456789abcdef', 'eyStoredToken.abc.def 600\n', '2020202020'])

# ---------------- resp (Redis replies; first byte: max_reply selector) ----
U = b'\xff'   # 512 MiB: no size limit
S = b'\x08'   # 64 + 8 * 8 = 128 bytes
def bulk(s): return b'$%d\r\n%s\r\n' % (len(s), s)
resp = {
 'status_ok': U + b'+OK\r\n',
 'pong': U + b'+PONG\r\n',
 'error': U + b"-ERR unknown command 'X', with args beginning with: \r\n",
 'noscript': U + b'-NOSCRIPT No matching script. Please use EVAL.\r\n',
 'wrongpass': U + b'-WRONGPASS invalid username-password pair or user is disabled.\r\n',
 'integer': U + b':1000\r\n',
 'integer_min': U + b':-9223372036854775808\r\n',
 'integer_max': U + b':9223372036854775807\r\n',
 'integer_over': U + b':9223372036854775808\r\n',
 'bulk': U + bulk(b'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'),
 'bulk_binary': U + bulk(b'a\r\nb\x00c\r\n\xff'),
 'bulk_empty': U + b'$0\r\n\r\n',
 'bulk_nil': U + b'$-1\r\n',
 'bulk_short': U + b'$10\r\nabc',
 'array_nil': U + b'*-1\r\n',
 'array_empty': U + b'*0\r\n',
 'get_script': U + b'*2\r\n' + bulk(b'TOKEN') + b':59000\r\n',
 'time': U + b'*2\r\n' + bulk(b'1796190000') + bulk(b'123456'),
 'refused': U + b'*2\r\n:63943000000\r\n:3\r\n',
 'nested': U + b'*6\r\n:1\r\n$3\r\ntwo\r\n$-1\r\n*2\r\n:3\r\n*1\r\n$4\r\nfour\r\n-ERR E5\r\n*0\r\n',
 'deep': U + b'*1\r\n' * 33 + b':1\r\n',
 'deep_ok': U + b'*1\r\n' * 32 + b':1\r\n',
 'limit_bulk': S + bulk(b'x' * 200),
 'limit_array': S + b'*100\r\n' + b':1\r\n' * 100,
 'bare_lf': U + b'+OK\n',
 'cr_inside': U + b'+O\rK\r\n',
 'two_replies': U + b'+OK\r\n+OK\r\n',
 'unknown_type': U + b'%1\r\n',
}
for k, v in resp.items(): put('resp', k, v)
dict_('resp', ['\r\n', '+', '-', ':', '$', '*', '$-1\r\n', '*-1\r\n', '*0\r\n', '$0\r\n\r\n', '+OK\r\n', '-ERR ', ':0\r\n', ':-1\r\n',
    '9223372036854775807', '-9223372036854775808', '9223372036854775808', '00000000000000000001', '-0', '\n', '\r', '\x00', '\xff',
    '*1\r\n', '*2\r\n', '$3\r\nabc\r\n', 'NOSCRIPT', 'WRONGPASS', 'NOAUTH'])
