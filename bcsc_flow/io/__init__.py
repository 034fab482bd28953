"""File formats read and written by bcsc_flow: FCS (``io.fcs``) and sample sheets (``io.sheet``)."""
