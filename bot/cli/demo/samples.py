"""Twenty bilingual sample messages for the demo: requests, a follow-up, machine mail, odd encodings."""
from __future__ import annotations

import base64
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from datetime import datetime, timezone

SUPPORT = "support@esl.example"
_DATE = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _mail(n: int, sender: str, subject: str, body: str, *, html: bool = False, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, SUPPORT, subject
    msg["Date"] = format_datetime(_DATE)
    msg["Message-ID"] = f"<demo-{n:02d}@mail.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    if html:
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes(policy=SMTP)


def _gb2312_mail() -> bytes:
    body = "你好，我已经不再使用ESL了，请注销我的账号并删除我的全部个人信息。手机号：13900139000。"
    return (
        b"From: =?GB2312?B?" + base64.b64encode("王芳".encode("gb2312")) + b"?= <wangfang@163.example>\r\n"
        b"To: support@esl.example\r\nSubject: =?GB2312?B?" + base64.b64encode("注销账号".encode("gb2312"))
        + b"?=\r\nDate: Fri, 20 Nov 2026 17:02:00 +0800\r\nMessage-ID: <demo-gb2312@163.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body.encode("gb2312") + b"\r\n\r\n\xb7\xa2\xd7\xd4\xce\xd2\xb5\xc4iPhone\r\n"  # 发自我的iPhone
    )


# The app's accounts in the demo (CSV as `supportbot accounts import` reads it).
ACCOUNTS_CSV = """account_id,nickname,phone,email,wechat_bound,status
A1001,alice_c,+86 138 0013 8000,alice@example.org,true,active
A1002,李雷,13700137000,lilei@qq.example,false,active
A1003,bobby,13600136000,bob@example.net,false,active
A1004,芳芳,139-0013-9000,,true,active
A1005,小明同学,13500135000,xiaoming@example.cn;xm@backup.example,true,active
"""


def sample_messages() -> list[bytes]:
    return [
        _mail(1, "Alice Chen <alice@example.org>", "Copy of my data",
              "Hello,\n\nPlease send me a copy of all the personal information you hold about me.\n"
              "My account is registered with 138 0013 8000.\n\nThanks,\nAlice"),
        _mail(2, "李雷 <lilei@qq.example>", "申请查阅个人信息",
              "您好，根据《个人信息保护法》第四十五条，我要求查阅并复制你们收集的我的个人信息。\n谢谢！",
              Authentication_Results="mx.esl.example; spf=pass smtp.mailfrom=lilei@qq.example; "
                                     "dkim=pass header.d=qq.example; dmarc=pass header.from=qq.example"),
        _mail(3, "bob@example.net", "Delete my account",
              "I no longer use the app. Please delete my account and all my data.\n\nSent from my iPhone"),
        _mail(4, "zhang.wei@example.cn", "手机号码错误",
              "你好，我账号上登记的手机号码是错的，请帮我更正为 139 1234 5678。\n\n发自我的华为手机"),
        _mail(5, "Carol <carol@example.com>", "Wrong nickname on my profile",
              "Hi, the nickname on my account was entered wrongly at sign-up. Please correct it to 'CarolW'."),
        _mail(6, "dave@example.org", "",
              "<p>Hi team,</p><p>Under GDPR Article 15 I request <b>access</b> to my personal data, "
              "including the login history and devices.</p><p>Regards,<br>Dave</p>", html=True),
        _gb2312_mail(),
        _mail(8, "陈静 <chenjing@example.cn>", "不再使用，请删除我的信息",
              "你们好：\n我很久没用这个软件了，也没有同意你们把信息给第三方。请删除我的个人信息，谢谢。"),
        _mail(9, "erin@example.com", "How do I change my avatar?",
              "Hi, how can I change my profile picture in the app? I can't find the setting."),
        _mail(10, "frank@example.net", "Refund for VIP",
              "I was charged twice for the VIP subscription last month. Can I get a refund?"),
        _mail(11, "Alice Chen <alice@example.org>", "Re: Copy of my data",
              "Sorry, I forgot: I also signed in through WeChat sometimes.\n\n"
              "On Fri, 20 Nov 2026, Alice Chen <alice@example.org> wrote:\n> Please send me a copy",
              In_Reply_To="<demo-01@mail.example>", References="<demo-01@mail.example>"),
        _mail(12, "Grace Out-of-Office <grace@example.com>", "Automatic reply: Your request",
              "I am out of the office until Monday.", Auto_Submitted="auto-replied"),
        _mail(13, "MAILER-DAEMON@mx.example.net", "Undelivered Mail Returned to Sender",
              "This is the mail system at host mx.example.net.\n\nI'm sorry to have to inform you that your "
              "message could not be delivered.\n\n<nobody@example.net>: user unknown"),
        _mail(14, "newsletter@shop.example", "Black Friday deals",
              "Huge savings this week only!", Precedence="bulk", List_Unsubscribe="<mailto:u@shop.example>"),
        _mail(15, "no-reply@accounts.example", "Your verification code",
              "Your code is 123456."),
        _mail(16, "王小明 <xiaoming@example.cn>", "查询并删除",
              "请先把我的全部数据导出发给我，然后注销我的账号。昵称：小明同学"),
        _mail(17, "helen@example.org", "Update my email and phone",
              "Hello, my phone number changed. Please update it from 13800138000 to 13911112222. Thanks"),
        _mail(18, "林美玲 <meiling@example.tw>", "刪除個人資料",
              "您好，請刪除我的帳號以及所有個人資料，謝謝。"),
        _mail(19, "ivan@example.com", "Do NOT delete my account",
              "Someone told me inactive accounts get deleted. Please do not delete my account, I still use it."),
        _mail(20, "Jack Li <jack@example.com>", "Privacy request",
              "Hi,\n\nWhat personal information do you have about me, and who did you share it with? "
              "Please send me a copy.\n\n--\nJack Li\nShanghai"),
    ]
