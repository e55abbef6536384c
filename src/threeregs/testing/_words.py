"""Small built-in word lists from which the strategies compose realistic values.

The lists are written for this module: common surnames and given-name
characters, a few provinces and cities with GB/T 2260 style code prefixes,
and the units and positions that interveners typically hold. Each list starts
with its plainest entry, because strategies that sample from a list shrink
toward its first entry.
"""

from __future__ import annotations

from typing import Final

#: Single-character surnames, most common first.
SURNAMES: Final = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱",
    "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯",
    "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶",
)  # fmt: skip
#: Two-character surnames; rarer, so they are drawn less often.
COMPOUND_SURNAMES: Final = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容")
#: Characters common in given names.
GIVEN_NAME_CHARACTERS: Final = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀", "霞", "平", "刚", "英", "华", "玉", "萍", "红", "鹏", "辉",
    "建", "国", "文", "斌", "宇", "浩", "凯", "晨", "欣", "怡", "婷", "雪", "琳", "晶",
    "波", "峰", "鑫", "颖", "帆", "博", "俊", "慧", "佳", "思", "雨", "涵", "轩", "志",
)  # fmt: skip

#: Provinces as (two-digit code prefix, name, whether the province is a
#: municipality whose district offices sit directly under the provincial office).
PROVINCES: Final = (
    ("33", "浙江省", False),
    ("32", "江苏省", False),
    ("44", "广东省", False),
    ("51", "四川省", False),
    ("42", "湖北省", False),
    ("37", "山东省", False),
    ("11", "北京市", True),
    ("31", "上海市", True),
)
#: Prefecture-level cities of each province, as (four-digit code prefix, name).
CITIES: Final = {
    "33": (("3301", "杭州市"), ("3302", "宁波市"), ("3303", "温州市")),
    "32": (("3201", "南京市"), ("3205", "苏州市"), ("3206", "南通市")),
    "44": (("4401", "广州市"), ("4403", "深圳市"), ("4406", "佛山市")),
    "51": (("5101", "成都市"), ("5107", "绵阳市")),
    "42": (("4201", "武汉市"), ("4205", "宜昌市")),
    "37": (("3701", "济南市"), ("3702", "青岛市")),
}
#: District and county names, numbered 01, 02, ... within their city.
DISTRICTS: Final = (
    "上城区", "西湖区", "鼓楼区", "江北区", "高新区", "新城区", "南湖区", "城关区",
    "开发区", "临江县", "青山县", "清河县",
)  # fmt: skip

#: Cities and districts that units are placed in.
PLACE_NAMES: Final = (
    "杭州市", "宁波市", "南京市", "苏州市", "广州市", "深圳市", "成都市", "武汉市",
    "济南市", "西湖区", "鼓楼区", "江北区",
)  # fmt: skip
#: Units of leading cadres: Party and government bodies, congresses, the
#: CPPCC, and state enterprises.
CADRE_UNITS: Final = (
    "人民政府", "人民政府办公室", "发展和改革委员会", "住房和城乡建设局", "自然资源和规划局",
    "财政局", "人民代表大会常务委员会", "政协委员会", "国有资产监督管理委员会", "城市建设投资集团",
)  # fmt: skip
CADRE_POSITIONS: Final = (
    "副局长", "局长", "副区长", "区长", "副市长", "主任", "副主任", "秘书长", "副书记", "董事长",
)  # fmt: skip
#: Units of internal personnel of judicial organs. The procuratorate comes
#: last because only that unit makes the intervener procuratorate staff.
JUDICIAL_UNITS: Final = ("人民法院", "公安局", "国家安全局", "司法局")
PROCURATORATE_UNIT: Final = "人民检察院"
JUDICIAL_POSITIONS: Final = (
    "审判员", "庭长", "副庭长", "民警", "副局长", "科长", "科员", "退休干部",
)  # fmt: skip
PROCURATORATE_POSITIONS: Final = (
    "检察官", "检察官助理", "部主任", "副检察长", "书记员", "退休干部",
)  # fmt: skip
#: Words that name law firms ("<place><word>律师事务所").
LAW_FIRM_WORDS: Final = ("正义", "天平", "明鉴", "诚信", "金石", "汇通", "君达")
LAWYER_POSITIONS: Final = ("律师", "合伙人", "主任律师", "实习律师")
#: Kinds of intermediaries named by the third provision: audit, appraisal,
#: auction, testing, bankruptcy administration, notaries and forensic appraisal.
INTERMEDIARY_UNITS: Final = (
    "资产评估有限公司", "会计师事务所", "拍卖有限公司", "检测技术有限公司", "清算事务所",
    "公证处", "司法鉴定所",
)  # fmt: skip
INTERMEDIARY_POSITIONS: Final = ("业务经理", "总经理", "评估师", "拍卖师", "鉴定人", "公证员")
#: Units of parties and their relatives: businesses, or none.
PRIVATE_UNITS: Final = ("贸易有限公司", "建筑工程有限公司", "科技有限公司", "餐饮店")
PRIVATE_POSITIONS: Final = ("总经理", "职员", "个体经营者", "退休职工")

#: Where an intervention took place. An empty place is allowed.
PLACES: Final = ("办公室", "检察院接待室", "某饭店包厢", "某茶楼", "当事人住所", "")
#: How the filer responded.
RESPONSES: Final = (
    "当场拒绝，并告知其相关规定",
    "表示将依法办理，未作任何承诺",
    "已如实记录并报告部门负责人",
    "拒绝收受，并退回所送物品",
    "",
)

#: Business lines, stages and roles from which random policies are built. The
#: names follow the default policy, so generated catalogs read like real ones.
BUSINESS_LINES: Final = (
    "criminal", "civil_administrative", "public_interest", "juvenile", "enforcement",
)  # fmt: skip
STAGES: Final = (
    "accept", "review", "arrest_review", "prosecution_review", "supplementary_investigation",
    "indictment", "trial_support", "investigation", "pre_litigation", "hearing",
    "supervision_decision", "appeal",
)  # fmt: skip
CLOSED_STAGE: Final = "closed"
ARCHIVED_STAGE: Final = "archived"
ROLES: Final = ("handler", "co_handler", "assistant", "clerk", "reviewer")

#: What a record says happened, by conduct code. ``{name}`` is the intervener.
CONTENT_BY_CONDUCT: Final = {
    "inquiry": (
        "{name}询问案件办理进度",
        "{name}了解案件基本情况，要求依法办理",
    ),
    "pleading": (
        "{name}为当事人说情，希望从轻处理",
        "{name}请求对犯罪嫌疑人不予逮捕",
    ),
    "arranging_meeting": (
        "{name}提出安排与当事人家属私下见面",
        "{name}邀请承办人与辩护律师一同吃饭",
    ),
    "pleading_through_others": (
        "{name}通过其亲属转达说情意见",
        "{name}让身边工作人员打电话过问案件",
    ),
    "pressing_view": (
        "{name}在会议上要求对案件作出特定处理",
        "{name}以单位名义发函，要求撤销案件",
    ),
    "passing_materials": (
        "{name}代当事人转交申诉材料",
        "{name}转递辩护意见书",
    ),
    "probing_or_tipping_off": (
        "{name}打听案件侦查情况",
        "{name}询问是否将采取强制措施",
    ),
    "other_interference": ("{name}以其他方式干预案件办理",),
    "contact": (
        "{name}在工作时间以外约见承办人",
        "{name}在外地偶遇承办人并交谈",
    ),
    "leaking_secrets": ("{name}要求提供案件证据材料",),
    "recommending_lawyer": (
        "{name}请求为当事人介绍律师",
        "{name}提出将案件引荐给其律师事务所",
    ),
    "accepting_benefits": (
        "{name}邀请宴请，并送上礼品",
        "{name}赠送购物卡",
    ),
    "borrowing": (
        "{name}提出借给承办人车辆",
        "{name}提出提供住房",
    ),
    "collusion_in_commission": ("{name}请求在委托评估中照顾其公司",),
    "other_improper_contact": ("{name}以其他方式与承办人不正当接触交往",),
}
