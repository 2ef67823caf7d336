/// The gene sets of Bernaerts et al. (2025).
public enum GeneSets {
    /// The 434 gene symbols of the MGI GO term summary "ion channel activity" and its child terms
    /// (`data/GO_term_summary_20211104_075621.txt` of berenslab/hh_sbi; also `data/m1/ion_channel_gene_symbols_GO.txt`).
    public static let ionChannels: Set<String> = [
        "Abcc8", "Abcc9", "Ano1", "Ano10", "Ano2", "Ano3", "Ano4", "Ano5", "Ano6", "Ano7", "Ano8", "Ano9",
        "Anxa2", "Anxa6", "Anxa9", "Apol10a", "Apol10b", "Apol11a", "Apol11b", "Apol7a", "Apol7b", "Apol7c", "Apol7e", "Apol8",
        "Apol9a", "Aqp1", "Asic1", "Asic2", "Asic3", "Asic4", "Asic5", "Atp5a1", "Atp5b", "Atp5c1", "Atp5d", "Atp5e",
        "Atp5h", "Atp5j", "Atp5j2", "Atp5k", "Atp5l", "Atp5o", "Atp5pb", "Atp6v1a", "Best1", "Best2", "Best3", "Bsnd",
        "Cachd1", "Cacna1a", "Cacna1b", "Cacna1c", "Cacna1d", "Cacna1e", "Cacna1f", "Cacna1g", "Cacna1h", "Cacna1i", "Cacna1s", "Cacna2d1",
        "Cacna2d2", "Cacna2d3", "Cacna2d4", "Cacnb1", "Cacnb2", "Cacnb3", "Cacnb4", "Cacng1", "Cacng2", "Cacng3", "Cacng4", "Cacng5",
        "Cacng6", "Cacng7", "Cacng8", "Calhm1", "Calhm2", "Calhm3", "Calhm4", "Calhm5", "Calhm6", "Catsper1", "Catsper2", "Catsper3",
        "Catsper4", "Ccdc51", "Cdk5", "Cftr", "Chrm5", "Chrna1", "Chrna10", "Chrna2", "Chrna3", "Chrna4", "Chrna5", "Chrna6",
        "Chrna7", "Chrna9", "Chrnb1", "Chrnb2", "Chrnb3", "Chrnb4", "Chrnd", "Chrne", "Chrng", "Clca1", "Clca2", "Clca3a1",
        "Clca3a2", "Clca3b", "Clca4a", "Clca4b", "Clcc1", "Clcn1", "Clcn2", "Clcn3", "Clcn4", "Clcn5", "Clcn6", "Clcn7",
        "Clcnka", "Clcnkb", "Cldn17", "Cldn4", "Clic1", "Clic3", "Clic4", "Clic5", "Clic6", "Cnga1", "Cnga2", "Cnga3",
        "Cnga4", "Cngb1", "Cngb3", "Cnr1", "Erc1", "Fxyd4", "Gabra1", "Gabra2", "Gabra3", "Gabra4", "Gabra5", "Gabra6",
        "Gabrb1", "Gabrb2", "Gabrb3", "Gabrd", "Gabre", "Gabrg1", "Gabrg2", "Gabrg3", "Gabrp", "Gabrq", "Gabrr1", "Gabrr2",
        "Gabrr3", "Gjc1", "Gjd3", "Glra1", "Glra2", "Glra3", "Glra4", "Glrb", "Gpm6a", "Gpr89", "Gria1", "Gria2",
        "Gria3", "Gria4", "Grid1", "Grid2", "Grik1", "Grik2", "Grik3", "Grik4", "Grik5", "Grin1", "Grin2a", "Grin2b",
        "Grin2c", "Grin2d", "Grin3a", "Grin3b", "Grm7", "Hcn1", "Hcn2", "Hcn3", "Hcn4", "Htr1b", "Htr3a", "Htr3b",
        "Hvcn1", "Itgav", "Itpr1", "Itpr2", "Itpr3", "Kcna1", "Kcna10", "Kcna2", "Kcna3", "Kcna4", "Kcna5", "Kcna6",
        "Kcna7", "Kcnab1", "Kcnab2", "Kcnab3", "Kcnb1", "Kcnb2", "Kcnc1", "Kcnc2", "Kcnc3", "Kcnc4", "Kcnd1", "Kcnd2",
        "Kcnd3", "Kcne1", "Kcne1l", "Kcne2", "Kcne3", "Kcne4", "Kcnf1", "Kcng1", "Kcng2", "Kcng3", "Kcng4", "Kcnh1",
        "Kcnh2", "Kcnh3", "Kcnh4", "Kcnh5", "Kcnh6", "Kcnh7", "Kcnh8", "Kcnip1", "Kcnip2", "Kcnip3", "Kcnip4", "Kcnj1",
        "Kcnj10", "Kcnj11", "Kcnj12", "Kcnj13", "Kcnj14", "Kcnj15", "Kcnj16", "Kcnj2", "Kcnj3", "Kcnj4", "Kcnj5", "Kcnj6",
        "Kcnj8", "Kcnj9", "Kcnk1", "Kcnk10", "Kcnk12", "Kcnk13", "Kcnk15", "Kcnk16", "Kcnk18", "Kcnk2", "Kcnk3", "Kcnk4",
        "Kcnk5", "Kcnk6", "Kcnk7", "Kcnk9", "Kcnma1", "Kcnmb1", "Kcnmb2", "Kcnmb3", "Kcnmb4", "Kcnn1", "Kcnn2", "Kcnn3",
        "Kcnn4", "Kcnq1", "Kcnq2", "Kcnq3", "Kcnq4", "Kcnq5", "Kcns1", "Kcns2", "Kcns3", "Kcnt1", "Kcnt2", "Kcnu1",
        "Kcnv1", "Kcnv2", "Lrrc26", "Lrrc38", "Lrrc52", "Lrrc55", "Lrrc8a", "Lrrc8b", "Lrrc8c", "Lrrc8d", "Lrrc8e", "Marcksl1",
        "Mcoln1", "Mcoln2", "Mcoln3", "Mcu", "Mcub", "Mlc1", "Nalcn", "Nalf1", "Nalf2", "Ncs1", "Nmur2", "Oprm1",
        "Orai1", "Orai2", "Orai3", "Otop1", "Otop2", "Otop3", "P2rx1", "P2rx2", "P2rx3", "P2rx4", "P2rx5", "P2rx6",
        "P2rx7", "Pacc1", "Panx1", "Pex5l", "Piezo1", "Piezo2", "Pkd1", "Pkd1l1", "Pkd1l2", "Pkd1l3", "Pkd2", "Pkd2l1",
        "Pkd2l2", "Pkdrej", "Psen1", "Rasa3", "Ryr1", "Ryr2", "Ryr3", "Scn10a", "Scn11a", "Scn1a", "Scn1b", "Scn2a",
        "Scn2b", "Scn3a", "Scn3b", "Scn4a", "Scn4b", "Scn5a", "Scn7a", "Scn8a", "Scn9a", "Scnn1a", "Scnn1b", "Scnn1g",
        "Sec61a1", "Slc17a3", "Slc17a7", "Slc1a1", "Slc1a4", "Slc24a1", "Slc24a2", "Slc24a3", "Slc24a4", "Slc24a5", "Slc26a6", "Slc26a7",
        "Slc26a8", "Slc26a9", "Slc4a11", "Snap25", "Stim1", "Stim2", "Tmc1", "Tmc2", "Tmc3", "Tmc4", "Tmc5", "Tmc6",
        "Tmc7", "Tmc8", "Tmco1", "Tmem120a", "Tmem120b", "Tmem150c", "Tmem175", "Tmem266", "Tmem37", "Tmem38a", "Tmem38b", "Tmem63a",
        "Tmem63b", "Tmem63c", "Tomm40", "Tpcn1", "Tpcn2", "Trpa1", "Trpc1", "Trpc2", "Trpc3", "Trpc4", "Trpc5", "Trpc6",
        "Trpc7", "Trpm1", "Trpm2", "Trpm3", "Trpm4", "Trpm5", "Trpm6", "Trpm7", "Trpm8", "Trpv1", "Trpv2", "Trpv3",
        "Trpv4", "Trpv5", "Trpv6", "Tspoap1", "Ttyh1", "Ttyh2", "Ttyh3", "Unc80", "Vdac1", "Vdac2", "Vdac3", "Xntrpc",
        "mt-Atp6", "mt-Atp8",
    ]

    /// Marker genes the paper adds to the ion-channel genes.
    public static let markers = ["Pvalb", "Lamp5", "Vip", "Sst"]
}
