"""Reference tables of the demo world: cities, occupations, majors, name pools (all synthetic).

Everything here is data for the simulation. Where a table follows a real classification it says
which (ISCO-08 unit groups, the 2022 大典 major groups, ISCED 2011 levels of the Chinese education
levels of DOMAIN.md section 4.3, GB 11643-1999 area codes); every number that describes the world
(minimum wages, wage levels, shares) is **synthetic**, chosen to look plausible, and must never be
quoted as a fact about China.

Cities: the Phase 1 pilot cities of the project were Chongqing, Huzhou, Rizhao and Tianjin
(DOMAIN.md section 1); the other pilot and comparison cities are illustrative.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "CITIES",
    "EDU_LEVEL_ISCED",
    "FIELD_MAJORS",
    "GIVEN_NAME_CHARS",
    "ISCO_REQUIRED_ISCED",
    "MANUAL_CODING_TITLES",
    "MIGRANT_AREA_CODES",
    "OCCUPATIONS",
    "SECTORS",
    "SURNAMES",
]

#: The cities of the demo world. ``min_wage`` is a **synthetic** monthly minimum wage (RMB) and
#: ``wage_level`` a synthetic log shift of hourly wages; ``area_code`` is a GB 11643 / GB/T 2260
#: county-level code in the city (used only to build synthetic resident ID numbers);
#: ``status`` says whether the city really was a Phase 1 pilot or is illustrative.
CITIES: tuple[MappingProxyType, ...] = tuple(
    MappingProxyType(city)
    for city in (
        {"code": "TJ", "zh": "天津", "en": "Tianjin", "province": "天津市", "role": "pilot",
         "status": "Phase 1 pilot city", "area_code": "120101", "min_wage": 2320,
         "wage_level": 0.10, "lat": 39.13, "lon": 117.20},
        {"code": "CQ", "zh": "重庆", "en": "Chongqing", "province": "重庆市", "role": "pilot",
         "status": "Phase 1 pilot city", "area_code": "500101", "min_wage": 2100,
         "wage_level": 0.00, "lat": 29.56, "lon": 106.55},
        {"code": "HZ", "zh": "湖州", "en": "Huzhou", "province": "浙江省", "role": "pilot",
         "status": "Phase 1 pilot city", "area_code": "330502", "min_wage": 2490,
         "wage_level": 0.12, "lat": 30.89, "lon": 120.09},
        {"code": "RZ", "zh": "日照", "en": "Rizhao", "province": "山东省", "role": "pilot",
         "status": "Phase 1 pilot city", "area_code": "371102", "min_wage": 2200,
         "wage_level": -0.04, "lat": 35.42, "lon": 119.53},
        {"code": "WH", "zh": "武汉", "en": "Wuhan", "province": "湖北省", "role": "pilot",
         "status": "illustrative", "area_code": "420102", "min_wage": 2210,
         "wage_level": 0.05, "lat": 30.59, "lon": 114.31},
        {"code": "CD", "zh": "成都", "en": "Chengdu", "province": "四川省", "role": "pilot",
         "status": "illustrative", "area_code": "510104", "min_wage": 2100,
         "wage_level": 0.04, "lat": 30.66, "lon": 104.07},
        {"code": "QD", "zh": "青岛", "en": "Qingdao", "province": "山东省", "role": "pilot",
         "status": "illustrative", "area_code": "370202", "min_wage": 2200,
         "wage_level": 0.06, "lat": 36.07, "lon": 120.38},
        {"code": "SY", "zh": "沈阳", "en": "Shenyang", "province": "辽宁省", "role": "pilot",
         "status": "illustrative", "area_code": "210102", "min_wage": 2100,
         "wage_level": -0.02, "lat": 41.80, "lon": 123.43},
        {"code": "XA", "zh": "西安", "en": "Xi'an", "province": "陕西省", "role": "comparison",
         "status": "illustrative", "area_code": "610102", "min_wage": 2160,
         "wage_level": -0.01, "lat": 34.26, "lon": 108.94},
        {"code": "HF", "zh": "合肥", "en": "Hefei", "province": "安徽省", "role": "comparison",
         "status": "illustrative", "area_code": "340102", "min_wage": 2060,
         "wage_level": 0.02, "lat": 31.82, "lon": 117.23},
        {"code": "JN", "zh": "济南", "en": "Jinan", "province": "山东省", "role": "comparison",
         "status": "illustrative", "area_code": "370102", "min_wage": 2200,
         "wage_level": 0.03, "lat": 36.65, "lon": 117.12},
        {"code": "NN", "zh": "南宁", "en": "Nanning", "province": "广西壮族自治区",
         "role": "comparison", "status": "illustrative", "area_code": "450102",
         "min_wage": 1990, "wage_level": -0.06, "lat": 22.82, "lon": 108.37},
    )
)  # fmt: skip

#: County-level area codes of common origin provinces of migrant workers (synthetic resident ID
#: numbers of inter-provincial migrants start with one of these).
MIGRANT_AREA_CODES: tuple[str, ...] = (
    "410102",  # 河南 郑州 中原区
    "510722",  # 四川 绵阳 三台县
    "340221",  # 安徽 芜湖 湾沚区
    "430102",  # 湖南 长沙 芙蓉区
    "360102",  # 江西 南昌 东湖区
    "522101",  # 贵州 遵义 (legacy code)
    "130102",  # 河北 石家庄 长安区
    "620102",  # 甘肃 兰州 城关区
)

#: Pilot sectors of the demo world: industry_section code (GB/T 4754 section letter), weight in
#: the enterprise sample, share of women among apprentices, share of rural-hukou apprentices,
#: size-band weights (firm_size codes 1-5) and usual weekly hours with their weights.
SECTORS: tuple[MappingProxyType, ...] = tuple(
    MappingProxyType(s)
    for s in (
        {"code": 3, "letter": "C", "zh": "机械制造", "weight": 0.42, "female": 0.28, "rural": 0.62,
         "size": (0.02, 0.15, 0.38, 0.27, 0.18), "field": 7,
         "hours": ((40, 44, 48, 54, 60), (0.25, 0.15, 0.3, 0.18, 0.12))},
        {"code": 5, "letter": "E", "zh": "建设工程", "weight": 0.10, "female": 0.12, "rural": 0.72,
         "size": (0.05, 0.25, 0.40, 0.20, 0.10), "field": 7,
         "hours": ((44, 48, 54, 60), (0.2, 0.35, 0.25, 0.2))},
        {"code": 7, "letter": "G", "zh": "物流", "weight": 0.10, "female": 0.25, "rural": 0.6,
         "size": (0.05, 0.30, 0.40, 0.15, 0.10), "field": 4,
         "hours": ((40, 44, 48, 54, 60), (0.2, 0.2, 0.3, 0.2, 0.1))},
        {"code": 8, "letter": "H", "zh": "餐饮管理", "weight": 0.14, "female": 0.55, "rural": 0.58,
         "size": (0.10, 0.40, 0.35, 0.10, 0.05), "field": 10,
         "hours": ((40, 44, 48, 54, 60), (0.2, 0.2, 0.3, 0.2, 0.1))},
        {"code": 9, "letter": "I", "zh": "信息技术", "weight": 0.10, "female": 0.38, "rural": 0.35,
         "size": (0.05, 0.35, 0.35, 0.15, 0.10), "field": 6,
         "hours": ((40, 44, 48, 54), (0.45, 0.25, 0.2, 0.1))},
        {"code": 15, "letter": "O", "zh": "生活服务", "weight": 0.14, "female": 0.58, "rural": 0.55,
         "size": (0.15, 0.45, 0.30, 0.07, 0.03), "field": 10,
         "hours": ((40, 44, 48, 54, 60), (0.2, 0.2, 0.3, 0.2, 0.1))},
    )
)  # fmt: skip

#: Occupations of the demo world: ISCO-08 unit group (the truth the indicators' ISCO coding is
#: tested against), its English title, the 2022 大典 major group (1-8) the Chinese job titles
#: belong to, Chinese job titles (free-text answers), main tasks, the sector codes it occurs in,
#: its ISCED-F field, whether it is an entry occupation (``base``) or a higher one reached by
#: promotion, and the occupation a promotion leads to (``up``). The 大典 groups follow DOMAIN.md
#: section 4.2: production jobs are in group 6, service jobs (drivers, cooks, repairers, IT
#: operation) in group 4, engineers and technicians in group 2, clerks in group 3.
OCCUPATIONS: tuple[MappingProxyType, ...] = tuple(
    MappingProxyType(o)
    for o in (
        # manufacturing (C) and construction (E)
        {"isco": "7212", "en": "Welders and flame cutters", "dadian": 6,
         "titles": ("焊工", "电焊工", "氩弧焊工"), "tasks": "焊接钢结构件,检查焊缝质量",
         "sectors": (3, 5), "field": 7, "base": True, "up": "3115"},
        {"isco": "7223", "en": "Metal working machine tool setters and operators", "dadian": 6,
         "titles": ("数控车工", "数控铣工", "加工中心操作工"),
         "tasks": "编程并操作数控机床加工零件",
         "sectors": (3,), "field": 7, "base": True, "up": "3115"},
        {"isco": "7233", "en": "Agricultural and industrial machinery mechanics and repairers",
         "dadian": 6, "titles": ("机修钳工", "设备维修工"), "tasks": "维修保养生产设备,排除故障",
         "sectors": (3,), "field": 7, "base": True, "up": "3115"},
        {"isco": "7412", "en": "Electrical mechanics and fitters", "dadian": 6,
         "titles": ("维修电工", "电气设备安装工"), "tasks": "安装调试电气设备和控制线路",
         "sectors": (3,), "field": 7, "base": True, "up": "3113"},
        {"isco": "8211", "en": "Mechanical machinery assemblers", "dadian": 6,
         "titles": ("装配工", "汽车装配工", "钳装工"), "tasks": "按图纸装配机械部件并检测",
         "sectors": (3,), "field": 7, "base": True, "up": "3122"},
        {"isco": "7543", "en": "Product graders and testers (excluding foods and beverages)",
         "dadian": 6, "titles": ("质检员", "产品检验员"),
         "tasks": "抽检产品尺寸和性能,填写检验记录",
         "sectors": (3,), "field": 7, "base": True, "up": "3119"},
        {"isco": "9329", "en": "Manufacturing labourers not elsewhere classified", "dadian": 6,
         "titles": ("普工", "生产线操作工", "包装工"), "tasks": "在生产线上搬运、包装和简单操作",
         "sectors": (3,), "field": 7, "base": True, "up": "8211"},
        {"isco": "7112", "en": "Bricklayers and related workers", "dadian": 6,
         "titles": ("砌筑工", "瓦工"), "tasks": "砌筑墙体,抹灰找平",
         "sectors": (5,), "field": 7, "base": True, "up": "3112"},
        {"isco": "7115", "en": "Carpenters and joiners", "dadian": 6,
         "titles": ("木工", "模板工"), "tasks": "制作安装模板和木构件",
         "sectors": (5,), "field": 7, "base": True, "up": "3112"},
        {"isco": "7126", "en": "Plumbers and pipe fitters", "dadian": 6,
         "titles": ("管道工", "水暖工"), "tasks": "安装维修给排水和供暖管道",
         "sectors": (5,), "field": 7, "base": True, "up": "3112"},
        {"isco": "7411", "en": "Building and related electricians", "dadian": 6,
         "titles": ("建筑电工", "电工"), "tasks": "敷设线路,安装照明和配电设备",
         "sectors": (5,), "field": 7, "base": True, "up": "3113"},
        {"isco": "9313", "en": "Building construction labourers", "dadian": 6,
         "titles": ("建筑普工", "小工"), "tasks": "搬运建材,清理施工现场",
         "sectors": (5,), "field": 7, "base": True, "up": "7112"},
        {"isco": "3115", "en": "Mechanical engineering technicians", "dadian": 2,
         "titles": ("机械技术员", "焊接技术员", "数控工艺员"),
         "tasks": "编制加工工艺,解决生产技术问题",
         "sectors": (3, 15), "field": 7, "base": False, "up": None},
        {"isco": "3113", "en": "Electrical engineering technicians", "dadian": 2,
         "titles": ("电气技术员", "电气工程技术员"), "tasks": "设计调试电气控制系统",
         "sectors": (3, 5), "field": 7, "base": False, "up": None},
        {"isco": "3112", "en": "Civil engineering technicians", "dadian": 2,
         "titles": ("施工员", "土建技术员"), "tasks": "组织现场施工,检查工程质量",
         "sectors": (5,), "field": 7, "base": False, "up": None},
        {"isco": "3119", "en": "Physical and engineering science technicians not elsewhere "
         "classified", "dadian": 2, "titles": ("质量技术员", "品质工程技术员"),
         "tasks": "分析质量问题,制定检验标准", "sectors": (3,), "field": 7, "base": False,
         "up": None},
        {"isco": "3122", "en": "Manufacturing supervisors", "dadian": 6,
         "titles": ("生产线班组长", "车间班组长"), "tasks": "安排班组生产任务,检查进度和质量",
         "sectors": (3,), "field": 7, "base": False, "up": None},
        {"isco": "1321", "en": "Manufacturing managers", "dadian": 1,
         "titles": ("生产经理", "车间主任"), "tasks": "负责车间生产计划和人员管理",
         "sectors": (3,), "field": 4, "base": False, "up": None},
        # transport and logistics (G)
        {"isco": "8332", "en": "Heavy truck and lorry drivers", "dadian": 4,
         "titles": ("货车司机", "重型货车驾驶员"), "tasks": "驾驶货车运输货物",
         "sectors": (7,), "field": 10, "base": True, "up": "1324"},
        {"isco": "4321", "en": "Stock clerks", "dadian": 4,
         "titles": ("仓库管理员", "仓管员"), "tasks": "收发货物,盘点库存,录入系统",
         "sectors": (7, 3), "field": 4, "base": True, "up": "1324"},
        {"isco": "9333", "en": "Freight handlers", "dadian": 4,
         "titles": ("装卸工", "分拣员"), "tasks": "装卸和分拣包裹",
         "sectors": (7,), "field": 10, "base": True, "up": "4321"},
        {"isco": "1324", "en": "Supply, distribution and related managers", "dadian": 1,
         "titles": ("物流主管", "仓储主管"), "tasks": "管理仓储和配送团队",
         "sectors": (7,), "field": 4, "base": False, "up": None},
        # accommodation and catering (H)
        {"isco": "5120", "en": "Cooks", "dadian": 4,
         "titles": ("厨师", "中式烹调师", "面点师"), "tasks": "按菜单烹制菜品,控制出品质量",
         "sectors": (8,), "field": 10, "base": True, "up": "3434"},
        {"isco": "5131", "en": "Waiters", "dadian": 4,
         "titles": ("餐厅服务员", "服务员"), "tasks": "接待顾客,点菜上菜",
         "sectors": (8,), "field": 10, "base": True, "up": "1412"},
        {"isco": "9412", "en": "Kitchen helpers", "dadian": 4,
         "titles": ("厨房帮工", "配菜员"), "tasks": "洗切配菜,清洁厨房",
         "sectors": (8,), "field": 10, "base": True, "up": "5120"},
        {"isco": "4224", "en": "Hotel receptionists", "dadian": 4,
         "titles": ("前台接待", "酒店前台"), "tasks": "办理入住退房,接听电话",
         "sectors": (8,), "field": 10, "base": True, "up": "1412"},
        {"isco": "3434", "en": "Chefs", "dadian": 4,
         "titles": ("厨师长", "主厨"), "tasks": "设计菜单,管理厨房团队",
         "sectors": (8,), "field": 10, "base": False, "up": None},
        {"isco": "1412", "en": "Restaurant managers", "dadian": 1,
         "titles": ("餐厅经理", "门店店长"), "tasks": "管理门店运营和员工排班",
         "sectors": (8,), "field": 10, "base": False, "up": None},
        # information technology (I)
        {"isco": "4222", "en": "Contact centre information clerks", "dadian": 4,
         "titles": ("客服专员", "在线客服"), "tasks": "通过电话和网络解答客户问题",
         "sectors": (9,), "field": 4, "base": True, "up": "3512"},
        {"isco": "3512", "en": "Information and communications technology user support "
         "technicians", "dadian": 4, "titles": ("IT运维工程师", "桌面运维"),
         "tasks": "安装维护电脑和软件,处理用户故障", "sectors": (9,), "field": 6, "base": True,
         "up": "2522"},
        {"isco": "3513", "en": "Computer network and systems technicians", "dadian": 4,
         "titles": ("网络管理员", "网络运维"), "tasks": "维护公司网络和服务器",
         "sectors": (9,), "field": 6, "base": True, "up": "2522"},
        {"isco": "2522", "en": "Systems administrators", "dadian": 2,
         "titles": ("系统管理员", "系统运维工程师"), "tasks": "管理服务器系统和数据安全",
         "sectors": (9,), "field": 6, "base": False, "up": None},
        {"isco": "2512", "en": "Software developers", "dadian": 2,
         "titles": ("软件开发工程师", "程序员"), "tasks": "编写和测试应用程序代码",
         "sectors": (9,), "field": 6, "base": False, "up": None},
        # resident and repair services (O)
        {"isco": "7231", "en": "Motor vehicle mechanics and repairers", "dadian": 4,
         "titles": ("汽车维修工", "汽修工"), "tasks": "诊断和维修汽车故障,保养车辆",
         "sectors": (15,), "field": 7, "base": True, "up": "3115"},
        {"isco": "5141", "en": "Hairdressers", "dadian": 4,
         "titles": ("美发师", "发型师"), "tasks": "为顾客剪发、烫染和造型",
         "sectors": (15,), "field": 10, "base": True, "up": None},
        {"isco": "5142", "en": "Beauticians and related workers", "dadian": 4,
         "titles": ("美容师", "美甲师"), "tasks": "提供皮肤护理和美容服务",
         "sectors": (15,), "field": 10, "base": True, "up": None},
        {"isco": "5311", "en": "Child care workers", "dadian": 4,
         "titles": ("保育员", "育婴员"), "tasks": "照料婴幼儿生活起居",
         "sectors": (15,), "field": 9, "base": True, "up": None},
        {"isco": "9112", "en": "Cleaners and helpers in offices, hotels and other "
         "establishments", "dadian": 4, "titles": ("保洁员", "清洁工"),
         "tasks": "清洁办公室和公共区域", "sectors": (15, 8), "field": 10, "base": True,
         "up": None},
        # clerical work in every sector
        {"isco": "4110", "en": "General office clerks", "dadian": 3,
         "titles": ("文员", "办公室文员", "行政助理"), "tasks": "处理文件,录入数据,接待来访",
         "sectors": (3, 5, 7, 8, 9, 15), "field": 4, "base": True, "up": None},
    )
)  # fmt: skip

#: Required ISCED 2011 levels by ISCO-08 major group (normative approach, DOMAIN.md section 2.2;
#: major group 9 uses the project rule 0-1).
ISCO_REQUIRED_ISCED: MappingProxyType = MappingProxyType(
    {1: (5, 8), 2: (6, 8), 3: (5, 5), 4: (2, 4), 5: (2, 4), 6: (2, 4), 7: (2, 4), 8: (2, 4),
     9: (0, 1)}
)  # fmt: skip

#: ISCED 2011 level of each ``edu_level`` code (DOMAIN.md section 4.3 and the ``isced`` column of
#: ``surveys/lists/education.yaml``; codes 7 and 8 as treated there).
EDU_LEVEL_ISCED: MappingProxyType = MappingProxyType(
    {1: 0, 2: 1, 3: 2, 4: 3, 5: 3, 6: 3, 7: 5, 8: 6, 9: 5, 10: 6, 11: 7, 12: 8}
)

#: Chinese majors (专业名称) by ISCED-F broad field.
FIELD_MAJORS: MappingProxyType = MappingProxyType(
    {
        0: ("普通高中",),
        1: ("学前教育", "幼儿保育"),
        2: ("工艺美术", "数字媒体艺术"),
        3: ("新闻采编与制作",),
        4: ("会计", "市场营销", "电子商务", "物流管理"),
        5: ("应用化工技术",),
        6: ("计算机应用技术", "软件技术", "计算机网络技术"),
        7: ("机电一体化技术", "数控技术", "焊接技术与自动化", "电气自动化技术",
            "汽车检测与维修技术",
            "建筑工程技术"),
        8: ("现代农业技术",),
        9: ("护理", "康复治疗技术"),
        10: ("烹饪工艺与营养", "酒店管理", "美容美体艺术", "现代物流管理"),
    }
)  # fmt: skip

#: Common Chinese surnames (synthetic names are drawn from these).
SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)

#: Characters of given names by sex (1 male, 2 female); a given name has one or two of them.
GIVEN_NAME_CHARS: MappingProxyType = MappingProxyType(
    {
        1: tuple("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帅兵毅龙峰建文博"),
        2: tuple("芳娜敏静丽艳娟霞秀玲燕红琳婷雪颖晶慧萍洁璐瑶欣悦佳琪雯倩梅丹"),
    }
)

#: Job titles of :data:`OCCUPATIONS` that the indicators' keyword table
#: (``evaluation/indicators/data/isco_keywords.csv``) does not code to their ISCO-08 unit group
#: (no keyword, a shorter code, or another group suggested by the title or the tasks): the demo
#: writes them into the manual-coding file with their code, as a coder would after review.
#: A test checks this list against the keyword coding, so it follows the table.
MANUAL_CODING_TITLES: frozenset[str] = frozenset(
    {
        "电气设备安装工", "装配工", "汽车装配工", "钳装工", "普工", "生产线操作工", "包装工",
        "模板工", "管道工", "建筑电工", "电工", "建筑普工", "小工", "焊接技术员", "数控工艺员",
        "电气工程技术员", "施工员", "土建技术员", "质量技术员", "品质工程技术员", "车间主任",
        "重型货车驾驶员", "分拣员", "物流主管", "仓储主管", "面点师", "服务员", "厨房帮工",
        "配菜员", "前台接待", "酒店前台", "主厨", "餐厅经理", "门店店长", "IT运维工程师",
        "桌面运维", "网络运维", "系统管理员", "系统运维工程师", "程序员", "发型师", "美甲师",
        "清洁工", "行政助理",
    }
)  # fmt: skip
