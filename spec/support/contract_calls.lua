-- The hand-written methods of the older areas, one call per operation of
-- the specs, with arguments the spec accepts (spec/contract_spec.lua sends
-- each to Prism). { verb, path as the spec writes it, call, service = the
-- spec file when the operation is in two }. `full` holds a second call for
-- the methods with optional fields: every option the method has, so that
-- each is held against the spec too.
local BOOK, ID = 1001, 2002
local EMAIL = "frodo@shire.example"
local PHONE = "380501234567"

local calls = {
  -- account and balance (email spec)
  { "GET", "/balance", function(c) return c:balance() end },
  { "GET", "/balance/{currency}", function(c) return c:balance("eur") end },
  { "GET", "/user/balance/detail", function(c) return c:balance_detail() end },

  -- mailing lists
  { "GET", "/addressbooks", function(c) return c:address_books{ limit = 10, offset = 0 } end },
  { "GET", "/addressbooks/{id}", function(c) return c:address_book(BOOK) end },
  { "POST", "/addressbooks", function(c) return c:create_address_book("Customers") end },
  { "PUT", "/addressbooks/{id}", function(c) return c:rename_address_book(BOOK, "Clients") end },
  { "DELETE", "/addressbooks/{id}", function(c) return c:delete_address_book(BOOK) end },
  { "GET", "/addressbooks/{id}/variables", function(c) return c:address_book_variables(BOOK) end },
  { "GET", "/addressbooks/{id}/emails",
    function(c) return c:address_book_emails(BOOK, { limit = 10, offset = 0 }) end },
  { "GET", "/addressbooks/{id}/emails/total",
    function(c) return c:address_book_emails_total(BOOK) end },
  { "GET", "/addressbooks/{id}/variables/{variableName}/{searchValue}",
    function(c) return c:address_book_emails_by_variable(BOOK, "city", "Hobbiton") end },
  { "GET", "/addressbooks/{id}/emails/{email}",
    function(c) return c:address_book_email(BOOK, EMAIL) end },
  { "POST", "/addressbooks/{id}/emails", function(c)
      return c:add_emails(BOOK, { { email = EMAIL, variables = { name = "Frodo" } } })
    end },
  { "DELETE", "/addressbooks/{id}/emails",
    function(c) return c:remove_emails(BOOK, { EMAIL }) end },
  { "POST", "/addressbooks/{id}/emails/unsubscribe",
    function(c) return c:unsubscribe_emails(BOOK, { EMAIL }) end },
  { "POST", "/addressbooks/{id}/emails/variable",
    function(c) return c:update_email_variables(BOOK, EMAIL, { name = "Frodo" }) end },
  { "POST", "/addressbooks/{id}/phones/variable", service = "sms",
    function(c) return c:update_phone_variables(BOOK, PHONE, { name = "Frodo" }) end },
  { "GET", "/addressbooks/{id}/cost", function(c) return c:address_book_cost(BOOK) end },
  { "GET", "/addressbooks/{id}/campaigns",
    function(c) return c:address_book_campaigns(BOOK, { limit = 10, offset = 0 }) end },

  -- contacts across mailing lists
  { "GET", "/emails/{email}", function(c) return c:email_info(EMAIL) end },
  { "POST", "/emails", function(c) return c:emails_info{ EMAIL } end },
  { "GET", "/emails/{email}/details", function(c) return c:email_details(EMAIL) end },
  { "DELETE", "/emails/{email}", function(c) return c:delete_email(EMAIL) end },
  { "GET", "/emails/{email}/campaigns", function(c) return c:email_campaigns(EMAIL) end },
  { "POST", "/emails/campaigns", function(c) return c:emails_campaigns{ EMAIL } end },
  { "GET", "/campaigns/{id}/email/{email}",
    function(c) return c:campaign_email_status(ID, EMAIL) end },

  -- blacklist
  { "GET", "/blacklist", function(c) return c:blacklist{ limit = 10, offset = 0 } end },
  { "POST", "/blacklist",
    function(c) return c:add_to_blacklist({ EMAIL }, { comment = "spam" }) end },
  { "DELETE", "/blacklist", function(c) return c:remove_from_blacklist{ EMAIL } end },

  -- verifier
  { "POST", "/verifier-service/send-list-to-verify",
    function(c) return c:verify_address_book(BOOK) end },
  { "GET", "/verifier-service/get-progress", function(c) return c:verification_progress(BOOK) end },
  { "GET", "/verifier-service/check", function(c) return c:verification_result(BOOK) end },
  { "GET", "/verifier-service/check-list",
    function(c) return c:verified_address_books{ start = 0, count = 10 } end },
  { "POST", "/verifier-service/send-single-to-verify",
    function(c) return c:verify_email(EMAIL) end },
  { "GET", "/verifier-service/get-single-result",
    function(c) return c:email_verification_result(EMAIL) end },
  { "POST", "/verifier-service/make-report",
    function(c) return c:create_verification_report(BOOK, { format = 2 }) end },
  { "GET", "/verifier-service/check-report", function(c) return c:verification_report(BOOK) end },

  -- campaigns
  { "GET", "/campaigns", function(c) return c:campaigns{ limit = 10, offset = 0 } end },
  { "GET", "/campaigns/{id}", function(c) return c:campaign(ID) end },
  { "POST", "/campaigns", function(c)
      return c:create_campaign{ sender_name = "Shire", sender_email = EMAIL,
                                subject = "News", body = "<p>Hello</p>", list_id = BOOK }
    end },
  { "PATCH", "/campaigns/{id}",
    function(c) return c:update_campaign(ID, { subject = "Later" }) end },
  { "DELETE", "/campaigns/{id}", function(c) return c:cancel_campaign(ID) end },
  { "GET", "/campaigns/{id}/countries", function(c) return c:campaign_countries(ID) end },
  { "GET", "/campaigns/{id}/referrals", function(c) return c:campaign_referrals(ID) end },

  -- templates
  { "GET", "/templates", function(c) return c:templates{ limit = 10, offset = 0 } end },
  { "GET", "/template/{template_id}", function(c) return c:template(ID) end },
  { "POST", "/template",
    function(c) return c:create_template{ body = "<p>Hi</p>", lang = "en", name = "Hi" } end },
  { "POST", "/template/edit/{id}",
    function(c) return c:update_template(ID, { body = "<p>Hey</p>", lang = "en" }) end },

  -- senders
  { "GET", "/senders", function(c) return c:senders() end },
  { "POST", "/senders", function(c) return c:add_sender("Shire", EMAIL) end },
  { "POST", "/senders", service = "smtp", function(c) return c:add_sender("Shire", EMAIL) end },
  { "DELETE", "/senders", function(c) return c:delete_sender(EMAIL) end },
  { "POST", "/senders/{email}/code", function(c) return c:activate_sender(EMAIL, "42abc") end },
  { "GET", "/senders/{email}/code", function(c) return c:request_sender_activation(EMAIL) end },

  -- webhooks
  { "GET", "/v2/email-service/webhook", function(c) return c:webhooks() end },
  { "GET", "/v2/email-service/webhook/{id}", function(c) return c:webhook(ID) end },
  { "POST", "/v2/email-service/webhook", function(c)
      return c:create_webhook("https://shire.example/hook", { "open", "redirect" })
    end },
  { "PUT", "/v2/email-service/webhook/{id}",
    function(c) return c:update_webhook(ID, "https://shire.example/hook2") end },
  { "DELETE", "/v2/email-service/webhook/{id}", function(c) return c:delete_webhook(ID) end },

  -- SMTP
  { "POST", "/smtp/emails", function(c)
      return c:smtp_send{ subject = "Order", html = "<p>Thanks</p>",
                          from = { name = "Shop", email = EMAIL },
                          to = { { name = "Sam", email = "sam@shire.example" } } }
    end },
  { "GET", "/smtp/emails", function(c)
      return c:smtp_emails{ limit = 10, offset = 0, from = "2024-01-01", to = "2024-01-31" }
    end },
  { "GET", "/smtp/emails/total", function(c) return c:smtp_emails_total() end },
  { "GET", "/smtp/emails/{id}", function(c) return c:smtp_email("a1b2c3") end },
  { "GET", "/smtp/bounces/day",
    function(c) return c:smtp_bounces{ limit = 10, offset = 0, date = "2024-01-15" } end },
  { "GET", "/smtp/bounces/day/total", function(c) return c:smtp_bounces_total() end },
  { "GET", "/smtp/unsubscribe",
    function(c) return c:smtp_unsubscribed{ limit = 10, offset = 0, date = "2024-01-15" } end },
  { "POST", "/smtp/unsubscribe", function(c)
      return c:smtp_unsubscribe{ { email = EMAIL, comment = "asked" } }
    end },
  { "DELETE", "/smtp/unsubscribe", function(c) return c:smtp_remove_unsubscribed{ EMAIL } end },
  { "GET", "/smtp/ips", function(c) return c:smtp_ips() end },
  { "GET", "/smtp/senders", function(c) return c:smtp_senders() end },

  -- web push
  { "GET", "/push/tasks", function(c)
      return c:push_tasks{ limit = 10, offset = 0, from = "2024-01-01", to = "2024-01-31" }
    end },
  { "GET", "/push/tasks/{id}", function(c) return c:push_task(ID) end },
  { "POST", "/push/tasks", function(c)
      return c:create_push_task{ title = "Sale", website_id = 53, body = "Half price", ttl = 3600 }
    end },
  { "GET", "/push/websites", function(c) return c:push_websites{ limit = 10, offset = 0 } end },
  { "GET", "/push/websites/total", function(c) return c:push_websites_total() end },
  { "GET", "/push/websites/{id}/variables", function(c) return c:push_website_variables(53) end },
  { "GET", "/push/websites/{id}/subscriptions", function(c)
      return c:push_website_subscriptions(53, { limit = 10, offset = 0, from = "2024-01-01",
                                                to = "2024-01-31" })
    end },
  { "GET", "/push/websites/{id}/subscriptions/total",
    function(c) return c:push_website_subscriptions_total(53) end },
  { "GET", "/push/websites/info/{id}", function(c) return c:push_website_info(53) end },
  { "GET", "/push/websites/{id}/code", function(c) return c:push_website_code(53) end },
  { "POST", "/push/subscriptions/state",
    function(c) return c:set_push_subscription_state(ID, true) end },

  -- SMS
  { "POST", "/sms/numbers", function(c) return c:sms_add_phones(BOOK, { PHONE }) end },
  { "POST", "/sms/numbers/variables", function(c)
      return c:sms_add_phones_with_variables(BOOK, { [PHONE] = { name = "Frodo" } })
    end },
  { "PUT", "/sms/numbers",
    function(c) return c:sms_update_phones(BOOK, { PHONE }, { name = "Frodo" }) end },
  { "DELETE", "/sms/numbers", function(c) return c:sms_delete_phones(BOOK, { PHONE }) end },
  { "GET", "/sms/numbers/info/{addressBookId}/{phoneNumber}",
    function(c) return c:sms_phone(BOOK, PHONE) end },
  { "GET", "/sms/black_list", function(c) return c:sms_blacklist() end },
  { "POST", "/sms/black_list",
    function(c) return c:sms_blacklist_add({ PHONE }, { description = "asked" }) end },
  { "DELETE", "/sms/black_list", function(c) return c:sms_blacklist_remove{ PHONE } end },
  { "POST", "/sms/campaigns", function(c)
      return c:sms_send_to_book(BOOK, { sender = "Shire", body = "Hello", emulate = true })
    end },
  { "POST", "/sms/send", function(c)
      return c:sms_send{ sender = "Shire", phones = { PHONE }, body = "Hello", emulate = true }
    end },
  { "GET", "/sms/campaigns/list",
    function(c) return c:sms_campaigns("2024-01-01 00:00:00", "2024-01-31 00:00:00") end },
  { "GET", "/sms/campaigns/info/{id}", function(c) return c:sms_campaign(ID) end },
  { "PUT", "/sms/campaigns/cancel/{id}", function(c) return c:sms_cancel_campaign(ID) end },
  { "GET", "/sms/campaigns/cost", function(c)
      return c:sms_campaign_cost{ sender = "Shire", body = "Hello", book_id = BOOK }
    end },
  { "DELETE", "/sms/campaigns", function(c) return c:sms_delete_campaign(ID) end },
  { "GET", "/sms/senders", function(c) return c:sms_senders() end },

  -- Viber campaigns
  { "POST", "/viber", function(c)
      return c:create_viber_campaign{ task_name = "Sale", message_type = 2, sender_id = 7,
                                      message_live_time = 3600, send_date = "now",
                                      address_book = BOOK, message = "Half price" }
    end },
  { "GET", "/viber/task", function(c) return c:viber_campaigns{ limit = 10, offset = 0 } end },
  { "GET", "/viber/task/{id}", function(c) return c:viber_campaign(ID) end },
  { "GET", "/viber/task/{id}/recipients", function(c) return c:viber_campaign_recipients(ID) end },
  { "GET", "/viber/senders", function(c) return c:viber_senders() end },
  { "GET", "/viber/senders/{id}", function(c) return c:viber_sender(7) end },

  -- Automation 360
  { "GET", "/a360/autoresponders/{ID}", function(c) return c:automation_flow(ID) end },
  { "GET", "/a360/stats/main-trigger/{ID}/group-stat",
    function(c) return c:automation_block_stats("main-trigger", ID) end },
  { "GET", "/a360/stats/email/{ID}/group-stat",
    function(c) return c:automation_block_stats("email", ID) end },
  { "GET", "/a360/stats/push/{ID}/group-stat",
    function(c) return c:automation_block_stats("push", ID) end },
  { "GET", "/a360/stats/sms/{ID}/group-stat",
    function(c) return c:automation_block_stats("sms", ID) end },
  { "GET", "/a360/stats/messenger/{ID}/group-stat",
    function(c) return c:automation_block_stats("messenger", ID) end },
  { "GET", "/a360/stats/filter/{ID}/group-stat",
    function(c) return c:automation_block_stats("filter", ID) end },
  { "GET", "/a360/stats/trigger/{ID}/group-stat",
    function(c) return c:automation_block_stats("trigger", ID) end },
  { "GET", "/a360/stats/goal/{ID}/group-stat",
    function(c) return c:automation_block_stats("goal", ID) end },
  { "GET", "/a360/stats/action/{ID}/group-stat",
    function(c) return c:automation_block_stats("action", ID) end },
  { "GET", "/a360/autoresponders/{id}/conversions",
    function(c) return c:automation_conversions(ID) end },
}

calls.full = {
  { "POST", "/addressbooks/{id}/emails", function(c)
      return c:add_emails(BOOK, { EMAIL }, { confirmation = "force", sender_email = EMAIL,
                                             message_lang = "en", template_id = 7 })
    end },
  { "GET", "/templates",
    function(c) return c:templates{ limit = 10, offset = 0, owner = "me" } end },
  { "POST", "/verifier-service/make-report", function(c)
      return c:create_verification_report(BOOK, { format = 3, status = { 1, 3 }, lang = "en" })
    end },
  { "POST", "/campaigns", function(c)
      return c:create_campaign{ sender_name = "Shire", sender_email = EMAIL, subject = "News",
                                template_id = 7, segment_id = 5, name = "January",
                                send_date = "2030-01-02 03:04:05", type = "draft",
                                is_test = false, body_amp = "<p>amp</p>",
                                attachments = { ["a.txt"] = "hello" },
                                attachments_binary = { ["b.bin"] = "\0\1" } }
    end },
  { "PATCH", "/campaigns/{id}", function(c)
      return c:update_campaign(ID, { name = "February", subject = "Later" })
    end },
  { "POST", "/smtp/emails", function(c)
      return c:smtp_send{ subject = "Order", template = { id = 7, variables = { name = "Sam" } },
                          from = { name = "Shop", email = EMAIL },
                          to = { { name = "Sam", email = "sam@shire.example" } },
                          cc = { "rosie@shire.example" }, bcc = { { email = "pip@shire.example" } },
                          attachments = { ["a.txt"] = "hello" },
                          attachments_binary = { ["b.bin"] = "\0\1" } }
    end },
  { "POST", "/smtp/emails", function(c)
      return c:smtp_send{ subject = "Order", html = "<p>Thanks</p>", text = "Thanks",
                          auto_plain_text = false, from = { name = "Shop", email = EMAIL },
                          to = { "sam@shire.example" } }
    end },
  { "GET", "/smtp/emails", function(c)
      return c:smtp_emails{ limit = 10, offset = 0, from = "2024-01-01", to = "2024-01-31",
                            sender = EMAIL, recipient = "sam@shire.example", country = true }
    end },
  { "POST", "/smtp/unsubscribe", function(c)
      return c:smtp_unsubscribe({ EMAIL, "sam@shire.example" }, { comment = "asked" })
    end },
  { "GET", "/push/tasks", function(c)
      return c:push_tasks{ limit = 10, offset = 0, from = "2024-01-01", to = "2024-01-31",
                           website_id = 53 }
    end },
  { "POST", "/push/tasks", function(c)
      return c:create_push_task{
        title = "Sale", website_id = 53, body = "Half price", ttl = 3600,
        link = "https://shire.example/sale", filter_lang = "en", filter_browser = "Chrome",
        filter_region = "UA", filter_url = "https://shire.example/",
        filter_subscription_date_from = "2024-01-01", filter_subscription_date_to = "2024-01-31",
        filter = { variable_name = "city", operator = "or",
                   conditions = { { condition = "likewith", value = "Hobbiton" } } },
        stretch_time = 600, send_date = "2030-01-02 03:04:05",
        buttons = { { text = "Buy", link = "https://shire.example/buy" } },
        image = { name = "i.png", data = "png" }, icon = { name = "c.png", data = "png" } }
    end },
  { "POST", "/push/subscriptions/state",
    function(c) return c:set_push_subscription_state(ID, 0) end },
  { "POST", "/sms/campaigns", function(c)
      return c:sms_send_to_book(BOOK, { sender = "Shire", body = "Hello", transliterate = false,
                                        route = { UA = "national" }, emulate = false,
                                        date = "2030-01-02 03:04:05" })
    end },
  { "POST", "/sms/send", function(c)
      return c:sms_send{ sender = "Shire", phones = { PHONE }, body = "Hello",
                         transliterate = true, route = { UA = "international" },
                         emulate = false, date = "2030-01-02 03:04:05" }
    end },
  { "GET", "/sms/campaigns/cost", function(c)
      return c:sms_campaign_cost{ sender = "Shire", body = "Hello", phones = { PHONE },
                                  route = { UA = "national" } }
    end },
  { "POST", "/sms/numbers/variables", function(c)
      return c:sms_add_phones_with_variables(BOOK, { { phone = PHONE,
                                                      variables = { name = "Sam" } } })
    end },
  { "PUT", "/sms/numbers", function(c)
      return c:sms_update_phones(BOOK, { PHONE },
                                 { { name = "name", type = "string", value = "Sam" } })
    end },
  { "POST", "/viber", function(c)
      return c:create_viber_campaign{
        task_name = "Sale", message_type = 3, sender_id = 7, message_live_time = 3600,
        send_date = "2030-01-02 03:04:05", recipients = { 380501234567 },
        message = "Half price", stretch_time = 0,
        additional = { button = { text = "Buy", link = "https://shire.example/buy" },
                       image = { link = "https://shire.example/i.png" },
                       resend_sms = { status = true, sms_text = "Sale",
                                      sms_sender_name = "Shire" } } }
    end },
  { "GET", "/smtp/bounces/day",
    function(c) return c:smtp_bounces{ limit = 10, offset = 0, date = os.time() } end },
}

return calls
