/** Display languages of the records and the report. */
export type Lang = 'zh-CN' | 'en';
export const LANGS: readonly Lang[] = ['zh-CN', 'en'];

/** Field labels of the records of processing. */
export const RECORD_LABELS = {
  en: {
    title: 'Records of processing',
    notice: 'Privacy notice',
    digest: 'Policy digest',
    purpose: 'Purpose',
    description: 'Description',
    basis: 'Lawful basis (Art. 13)',
    categories: 'Categories',
    sensitive: 'sensitive',
    operations: 'Operations',
    recipients: 'Recipients',
    processors: 'Entrusted processors (Art. 21)',
    transfers: 'Cross-border transfers (Art. 38–40)',
    validity: 'valid',
    piaRef: 'Impact assessment (Art. 55–56)',
    retention: 'Retention (Art. 19)',
    necessary: 'Necessary for the service (Art. 16)',
    personalization: 'Automated personalisation (Art. 24)',
    children: 'Children under 14 (Art. 31)',
    yes: 'yes',
    no: 'no',
  },
  'zh-CN': {
    title: '个人信息处理活动记录',
    notice: '隐私政策',
    digest: '策略摘要',
    purpose: '处理目的',
    description: '说明',
    basis: '合法性基础（第十三条）',
    categories: '个人信息种类',
    sensitive: '敏感',
    operations: '处理方式',
    recipients: '接收方',
    processors: '受托处理者（第二十一条）',
    transfers: '跨境提供（第三十八至四十条）',
    validity: '有效期',
    piaRef: '个人信息保护影响评估（第五十五、五十六条）',
    retention: '保存期限（第十九条）',
    necessary: '提供服务所必需（第十六条）',
    personalization: '自动化决策个性化推送（第二十四条）',
    children: '不满十四周岁未成年人（第三十一条）',
    yes: '是',
    no: '否',
  },
} as const satisfies Record<Lang, Record<string, string>>;

/** Shown where the policy declares nothing. */
export const NONE = '—';
